"""Tests of the blob stores: the shared contract and each store's own behaviour."""
