"""The main window's side-panel tabs (tracker, registration, planning, guidance, display).

Each panel is a widget that wires its controls to :class:`~tmsnav.app.app_state.AppState` and to
the pure logic in ``tmsnav.navigation``; the main window only places them.
"""
