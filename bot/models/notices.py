"""Tables of the notices domain (filled in by its issue)."""
