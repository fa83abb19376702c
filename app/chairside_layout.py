"""Window layouts for the chair: the large chairside layout and a side panel that fits small screens.

*Large chairside layout* (View menu, Ctrl+L, or the button in the Navigate tab): the slices and
the side panel give way to :class:`tmsnav.app.chairside_view.ChairsideView` (numbers readable from
2 m, a large bullseye), which takes :data:`LARGE_CHAIRSIDE_FRACTION` of the width; the 3-D view
keeps the rest (the coil on the head, for orientation; the precise answer is in the numbers).
Ctrl+L again, or "Normal layout", brings everything back as it was.

*Side panel*: collapsible (View > Workflow panel, Ctrl+Shift+P), its tabs scroll vertically
(:mod:`tmsnav.app.chairside_tabs`), and its width is capped at :data:`SIDE_PANEL_MAX_FRACTION` of
the window so the views keep at least 55 % of a 1366- or 1024-pixel-wide screen; it opens at
a third of the width (at least :data:`SIDE_PANEL_MIN_PX`, at most 450 px).

Both choices, and the bullseye orientation, are remembered in the user's settings, but only for
windows that asked for it with :meth:`ChairsideLayout.restore_saved` (the ``tmsnav`` command):
scripted windows (tests, ``--screenshot``) neither read nor change the user's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from .bullseye import ANTERIOR_UP, HANDLE_UP
from .chairside_view import ChairsideView

if TYPE_CHECKING:
    from .app_state import AppState
    from .panels.guidance_panel import GuidancePanel

__all__ = ["ChairsideLayout", "WindowParts", "settings", "SIDE_PANEL_MAX_FRACTION", "LARGE_CHAIRSIDE_FRACTION"]

KEY_LARGE = "view/chairside_large"
KEY_ORIENTATION = "view/bullseye_orientation"
KEY_SIDE_PANEL = "view/side_panel_visible"
SIDE_PANEL_MAX_FRACTION = 0.40
SIDE_PANEL_MIN_PX = 400        # the narrowest the tabs are laid out for (tests/app/test_chairside_fit.py)
LARGE_CHAIRSIDE_FRACTION = 0.58


def settings() -> QtCore.QSettings:
    """The user's tmsnav settings (tests replace this function to use a temporary file)."""
    return QtCore.QSettings("tmsnav", "tmsnav")


def _as_bool(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class WindowParts:
    """The parts of the main window the layout rearranges, passed in rather than the window
    itself so this module does not import the window that builds it (no import cycle)."""

    window: QtWidgets.QMainWindow
    view_grid: QtWidgets.QGridLayout
    slices: Mapping[str, QtWidgets.QWidget]
    guidance_panel: GuidancePanel
    state: AppState
    view_menu: QtWidgets.QMenu
    dock: QtWidgets.QDockWidget
    panels: QtWidgets.QTabWidget


class ChairsideLayout(QtCore.QObject):
    largeChanged = QtCore.Signal(bool)

    def __init__(self, parts: WindowParts) -> None:
        super().__init__(parts.window)
        self.parts = parts
        self.window = window = parts.window
        self.large = False
        self.remember = False
        self._dock_was_visible = True
        self.view = ChairsideView()
        self.view.hide()
        parts.view_grid.addWidget(self.view, 0, 2, 2, 1)
        parts.view_grid.setColumnStretch(2, 0)
        panel = parts.guidance_panel
        panel.guidanceChanged.connect(self.view.show_error)
        panel.toleranceChanged.connect(self.view.set_tolerance)
        panel.orientationChanged.connect(self._orientation_changed)
        panel.large_button.clicked.connect(self.toggle)
        self.view.exitRequested.connect(lambda: self.set_large(False))
        parts.state.targetsChanged.connect(self._targets_changed)
        self.view.set_tolerance(panel.bullseye.tolerance)
        self.view.bullseye.set_orientation(panel.bullseye_orientation())
        self._targets_changed()

        menu = parts.view_menu
        menu.addSeparator()
        # Actions constructed from Python (never QDockWidget.toggleViewAction: see the Edit menu).
        self.large_action = QtGui.QAction("&Large chairside layout", window)
        self.large_action.setObjectName("large_layout_action")
        self.large_action.setCheckable(True)
        self.large_action.setShortcut(QtGui.QKeySequence("Ctrl+L"))
        self.large_action.toggled.connect(self.set_large)
        menu.addAction(self.large_action)
        self.panel_action = QtGui.QAction("Workflow &panel", window)
        self.panel_action.setObjectName("side_panel_action")
        self.panel_action.setCheckable(True)
        self.panel_action.setChecked(True)
        self.panel_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+P"))
        self.panel_action.toggled.connect(self.set_side_panel_visible)
        menu.addAction(self.panel_action)
        window.installEventFilter(self)

    # ----- large layout -------------------------------------------------------------------
    def toggle(self) -> None:
        self.set_large(not self.large)

    def set_large(self, on: bool) -> None:
        on = bool(on)
        if on != self.large:
            w, grid = self.parts, self.parts.view_grid
            self.large = on
            if on:
                # isHidden, not isVisible: restore_saved runs before the window is shown
                self._dock_was_visible = not w.dock.isHidden()
                w.dock.hide()
            for view in w.slices.values():
                view.setVisible(not on)
            self.view.setVisible(on)
            large = round(100 * LARGE_CHAIRSIDE_FRACTION)
            for col, stretch in enumerate((100 - large, 0, large) if on else (1, 1, 0)):
                grid.setColumnStretch(col, stretch)
            grid.setRowStretch(1, 0 if on else 1)
            if not on:
                w.dock.setVisible(self._dock_was_visible)
            self._save(KEY_LARGE, on)
            self.largeChanged.emit(on)
        if self.large_action.isChecked() != on:
            self.large_action.setChecked(on)
        if self.panel_action.isChecked() == self.parts.dock.isHidden():
            self.panel_action.setChecked(not self.parts.dock.isHidden())

    # ----- side panel ---------------------------------------------------------------------
    def set_side_panel_visible(self, visible: bool) -> None:
        self.parts.dock.setVisible(bool(visible))
        if not self.large:
            self._save(KEY_SIDE_PANEL, bool(visible))
        if self.panel_action.isChecked() != bool(visible):
            self.panel_action.setChecked(bool(visible))

    def side_panel_max_px(self) -> int:
        return max(SIDE_PANEL_MIN_PX, int(SIDE_PANEL_MAX_FRACTION * self.window.width()))

    def fit_side_panel(self) -> None:
        """Open the side panel at a third of the window width (400-450 px), within its cap."""
        self._cap_side_panel()
        width = int(min(450, max(SIDE_PANEL_MIN_PX, self.window.width() / 3)))
        self.window.resizeDocks([self.parts.dock], [width], QtCore.Qt.Orientation.Horizontal)

    def _cap_side_panel(self) -> None:
        panels = self.parts.panels
        panels.setMinimumWidth(SIDE_PANEL_MIN_PX - 10)
        panels.setMaximumWidth(self.side_panel_max_px() - 10)   # the dock's frame takes ~10 px

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QtCore.QEvent.Type.Resize:
            self._cap_side_panel()
        return False

    # ----- settings -----------------------------------------------------------------------
    def restore_saved(self) -> None:
        """Use and remember the user's layout and bullseye orientation (the ``tmsnav`` command)."""
        self.remember = True
        s = settings()
        orientation = str(s.value(KEY_ORIENTATION, ANTERIOR_UP))
        if orientation in (ANTERIOR_UP, HANDLE_UP):
            self.parts.guidance_panel.set_bullseye_orientation(orientation)
        self.set_side_panel_visible(_as_bool(s.value(KEY_SIDE_PANEL, True)))
        self.set_large(_as_bool(s.value(KEY_LARGE, False)))

    def _save(self, key: str, value: object) -> None:
        if self.remember:
            settings().setValue(key, value)

    def _orientation_changed(self, orientation: str) -> None:
        self.view.bullseye.set_orientation(orientation)
        self._save(KEY_ORIENTATION, orientation)

    def _targets_changed(self) -> None:
        target = self.parts.state.targets.active
        self.view.set_target(target.name if target is not None else None)
        source = self.parts.guidance_panel.bullseye
        self.view.bullseye.set_anatomical_axes(source.anterior_xy, source.right_xy)
