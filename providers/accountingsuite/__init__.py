"""accountingsuite provider: client, mapping and sandbox."""
