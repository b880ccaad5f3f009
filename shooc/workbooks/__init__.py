"""Workbooks: parse, validate and render Markdown course folders; publish versions."""
