"""The technician's registration workflow: one widget per step, shared data in a context.

The panel (:mod:`tmsnav.app.panels.registration_panel`) owns the step list and navigation; each step
here only wires buttons and live tracking to ``tmsnav.navigation.registration`` (the math) and to
:class:`~tmsnav.app.app_state.AppState` (what is accepted is recorded to the session).
"""
