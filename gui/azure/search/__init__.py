"""Search over everything: the local index (SQLite FTS5), the Marketplace Catalog client,
az aliases, filters and the service that merges and ranks (no Qt)."""
