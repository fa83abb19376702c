"""Session and course reports for the chart, as HTML and PDF (docs/reports.md)."""
