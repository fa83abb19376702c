"""The technician's registration workflow: one widget per step, shared data in a context.

The panel (:mod:`app.panels.registration_panel`) owns the step list and navigation; each step
here only wires buttons and live tracking to ``navigation.registration`` (the math) and to
:class:`~app.app_state.AppState` (what is accepted is recorded to the session).
"""
