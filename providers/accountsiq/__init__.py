"""accountsiq provider: client, mapping and sandbox."""
