"""Users, password hashing, access tokens and the current-user dependency."""
