"""viz (filled in by its chapter)."""
