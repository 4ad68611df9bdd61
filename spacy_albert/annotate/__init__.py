"""Batch annotation: records, resume after a kill, local and Ray engines."""
