"""Symptom rating scales (PHQ-9, HDRS-17, MADRS, BDI-II, QIDS-SR16): totals, severity bands,
response and remission over a course, and the PHQ-9 item 9 safety alert (docs/outcomes.md).
"""
