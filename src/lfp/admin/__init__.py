"""Operators' powers over accounts: list, create, disable, enable, delete, set limits."""
