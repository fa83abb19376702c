"""Session and course reports for the chart, as HTML and PDF (docs/reports.md).

``write_session_report`` / ``write_course_report`` gather the data (``data.py``), draw the figures
(``figures.py``), lay out the HTML (``html.py`` + ``templates.py``) and the PDF (``pdf.py``) from the
same rows (``content.py``) and write the files all-or-nothing (``writer.py``).
"""

from .api import FORMATS, ReportError, ReportFiles, report_file_names, write_course_report, write_session_report

__all__ = ["write_session_report", "write_course_report", "ReportFiles", "ReportError", "FORMATS",
           "report_file_names"]
