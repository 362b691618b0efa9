"""api (filled in by its chapter)."""
