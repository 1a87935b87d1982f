"""clearbooks provider: client, mapping and sandbox."""
