"""image (filled in by its chapter)."""
