"""The clinic record in the GUI: patients, courses, today's session, outcomes and reports."""
