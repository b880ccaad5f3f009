"""The JSON API, /api/v1, with personal tokens (Authorization: Bearer)."""
