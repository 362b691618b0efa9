"""runtime (filled in by its chapter)."""
