"""The clinic record: patients, courses, sessions, pulses and outcomes in one database.

SQLAlchemy 2 models with Alembic migrations; the embedded default is one SQLite file in the
user's data folder, a clinic points every navigator at one PostgreSQL server. The session
folder (session.json + the append-only events.jsonl) stays the durable record of a sitting and
is indexed into the database (docs/records.md).
"""
