"""controllers (filled in by its chapter)."""
