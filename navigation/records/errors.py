"""Errors of the clinic record. ``str(err)`` is a message the user can act on (the GUI shows it in
a dialog); none of them ever carries a database password or a patient's identifying fields."""

from __future__ import annotations

from ..errors import NavigationError

__all__ = ["RecordsError", "DatabaseUnavailable", "NewerSchemaError", "DuplicatePatientError",
           "NotFoundError"]


class RecordsError(NavigationError):
    """A problem with the clinic database or a request to it, phrased for the user."""


class DatabaseUnavailable(RecordsError):
    """The database cannot be reached (or was lost mid-session). The message names the host and
    database, never the password; the session folder keeps recording and syncs later."""


class NewerSchemaError(RecordsError):
    """The database was written by a newer tmsnav: this version refuses to touch it rather than
    corrupt data it does not understand."""

    def __init__(self, found: str, known: str) -> None:
        super().__init__(f"This database was written by a newer tmsnav (schema {found}); this "
                         f"version knows up to {known}. Update tmsnav on this computer, or point it "
                         "at another database in Preferences.")
        self.found = found
        self.known = known


class DuplicatePatientError(RecordsError):
    """A patient with that pseudonym already exists (pseudonyms are the unique patient key)."""


class NotFoundError(RecordsError):
    """No patient, course, session or outcome with that key."""
