"""Admin pages, one module per area; each registers its routes on admin.bp."""
