"""Alembic migrations of the clinic database (run programmatically by navigation.records.database)."""
