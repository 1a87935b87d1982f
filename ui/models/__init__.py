"""Table models: the store's views, paged by key, formatted for the user's locale."""
