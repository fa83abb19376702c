"""What Help > About says: version, licence and where the log file is (IT and bug reports ask
for the log, so its path must be one click away)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .logging_setup import current_log_file

__all__ = ["about_text"]


def about_text() -> str:
    try:
        ver = version("tmsnav")
    except PackageNotFoundError:
        ver = "(not installed)"
    log_file = current_log_file()
    where = str(log_file) if log_file is not None else "none (logging to the terminal only)"
    return (f"tmsnav {ver}: open-source neuronavigation for personalized TMS.\n"
            "Research software: not a certified medical device.\n"
            "Licence: BSD-3-Clause.\n\n"
            f"Log file: {where}")
