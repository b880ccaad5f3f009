"""Evaluation: the course survey and the figures evaluators read."""
