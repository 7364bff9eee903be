"""Tables of the catalog domain (filled in by its issue)."""
