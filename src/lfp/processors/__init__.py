"""Processors: named plugins that turn a stored file into a result and outputs."""
