"""accbooks provider: client, mapping and sandbox."""
