"""The metadata database: engine and sessions, the models' base, and Alembic migrations."""
