"""Open Badges 2.0 documents, baking and certificates."""
