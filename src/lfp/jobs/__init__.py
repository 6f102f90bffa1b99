"""Jobs: a processor run on a stored file, its executors and its API."""
