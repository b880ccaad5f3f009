"""Runs, enrolments, dates, progress, responses and submission."""
