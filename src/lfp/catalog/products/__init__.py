"""The products catalogue: the `products` ingest processor's tables and their query API."""
