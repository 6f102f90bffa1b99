"""Stored files: metadata, digests, downloads with Range, deletion."""
