"""Evaluation: scores per label, gold filtering, plots and the markdown report."""
