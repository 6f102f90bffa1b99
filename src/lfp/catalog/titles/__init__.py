"""The titles catalogue: the `titles` ingest processor's table and its query API."""
