"""Undo for the target list: one command per edit keeps the whole list before and after.

Targets are immutable, so a snapshot of the list keeps every target with its evidence; undo
or redo is written to the session like any other edit (``AppState.targets_edited``).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui

from tmsnav.navigation.targeting.targets import Target, TargetSet

__all__ = ["TargetEdit", "snapshot"]

Snapshot = tuple[list[Target], str | None]


def snapshot(targets: TargetSet) -> Snapshot:
    """The targets in order and the active one's name."""
    active = targets.active
    return list(targets), None if active is None else active.name


class TargetEdit(QtGui.QUndoCommand):
    """One undoable change of the target list: the lists before and after, and the reason the
    session log records ("deleted F3", "handle angle of F3 turned +35.0 deg ...")."""

    def __init__(self, state: Any, before: Snapshot, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.before = before
        self.after = snapshot(state.targets)
        self.reason = reason
        self._applied = True              # pushed after the change was made

    def _apply(self, snap: Snapshot, why: str) -> None:
        targets, active = snap
        self.state.targets = TargetSet(list(targets), active)
        self.state.targets_edited(why)

    def undo(self) -> None:
        self._apply(self.before, f"undo: {self.reason}")
        self._applied = False

    def redo(self) -> None:
        if self._applied:                 # QUndoStack.push calls redo(): already done
            return
        self._apply(self.after, f"redo: {self.reason}")
        self._applied = True
