"""What the panels need from the main window, as protocols.

The main window builds the panels, so a panel that imported :class:`tmsnav.app.main_window.MainWindow`
to name its parameter would tie the two into an import cycle; each panel instead states the few
parts of the window it uses (mypy checks the window provides them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:
    from .app_state import AppState
    from .job_runner import JobRunner
    from .tracking_bridge import TrackingBridge

__all__ = ["GuidanceWindow", "PlanningWindow"]


class _WindowWithState(Protocol):
    @property
    def state(self) -> AppState: ...


class GuidanceWindow(_WindowWithState, Protocol):
    """The Navigate panel: the app state and the live tracking snapshots."""

    @property
    def tracking(self) -> TrackingBridge: ...


class PlanningWindow(_WindowWithState, Protocol):
    """The Planning panel: the app state, the job runner, the cursor and the messages."""

    @property
    def jobs(self) -> JobRunner: ...
    @property
    def cursorChanged(self) -> QtCore.SignalInstance: ...  # noqa: N802 - the window's Qt signal
    @property
    def cursor_mri(self) -> np.ndarray: ...
    @property
    def view3d(self) -> Any: ...
    def set_cursor(self, mri_mm: Any) -> None: ...
    def show_error(self, title: str, message: str) -> None: ...
    def statusBar(self) -> QtWidgets.QStatusBar: ...  # noqa: N802 - QMainWindow's name
