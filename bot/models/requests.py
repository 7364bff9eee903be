"""Tables of the requests domain (filled in by its issue)."""
