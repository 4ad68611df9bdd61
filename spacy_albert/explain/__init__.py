"""Explanations: integrated-gradient attributions per category and entity, rendering."""
