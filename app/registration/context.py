"""What the registration steps share: the landmarks, the touched points, the scalp points, the
candidate result, the MRI scalp index, and safe reads of paired tracker frames.

Every pointer sample used for registration goes through :meth:`WorkflowContext.paired_tip`:
the head reference and the pointer must both be fresh, trackable and from the *same* device
frame (docs/safety.md, stale and unpaired poses); otherwise the caller gets ``None`` and a sentence saying why.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6 import QtCore

from tmsnav.navigation.errors import NavigationError
from tmsnav.navigation.registration import (FiducialRegistration, RegistrationError, SurfaceIndex,
                                            register_fiducials, tip_in_frame)
from tmsnav.navigation.registration.fiducials import canonical_name
from tmsnav.navigation.transforms import Transform

log = logging.getLogger(__name__)

__all__ = ["WorkflowContext", "ROLE_LABELS", "display_name", "STANDARD_LANDMARKS"]

ROLE_LABELS = {"reference": "head reference", "pointer": "pointer", "coil": "coil"}
STANDARD_LANDMARKS = ("nasion", "lpa", "rpa")
_DISPLAY = {"nasion": "Nasion", "lpa": "LPA", "rpa": "RPA"}
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scalp-index")


def display_name(name: str) -> str:
    """"nasion" -> "Nasion", "lpa" -> "LPA", "inion" -> "Inion", "left_tragus" -> "Left tragus"."""
    return _DISPLAY.get(name) or name.replace("_", " ").capitalize()


class WorkflowContext(QtCore.QObject):
    """Shared state of one registration run (reset when another head is loaded)."""

    fiducialsChanged = QtCore.Signal()     # MRI or touched fiducials, or the fit, changed

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.tracking = window.tracking
        self.landmark_names: list[str] = list(STANDARD_LANDMARKS)
        self.mri_fiducials: dict[str, np.ndarray] = {}
        self.touched: dict[str, np.ndarray] = {}          # head-reference frame, mm
        self.fiducial_fit: FiducialRegistration | None = None
        self.fiducial_error = ""
        self.scalp_points = np.zeros((0, 3))              # head-reference frame, mm
        self.candidate = None                             # RegistrationResult to review
        self.fiducial_only = None                         # the same fiducials without ICP
        self._surface: SurfaceIndex | None = None
        self._surface_future: tuple[object, Future[SurfaceIndex]] | None = None   # (head, index build)
        self._divot_reference: np.ndarray | None = None   # pivot divot, head-reference frame
        self.state.headChanged.connect(self.reset_for_head)
        self.state.calibrationChanged.connect(self._calibration_changed)

    # ----- head ---------------------------------------------------------------------------
    def reset_for_head(self, head) -> None:
        """New head: landmarks from its marked fiducials (if any); everything touched is void."""
        self.landmark_names = list(STANDARD_LANDMARKS)
        self.mri_fiducials = {}
        for name, point in ((head.fiducials_mm or {}) if head is not None else {}).items():
            key = canonical_name(name)
            self.mri_fiducials[key] = np.asarray(point, float).reshape(3)
            if key not in self.landmark_names:
                self.landmark_names.append(key)
        self.touched = {}
        self.scalp_points = np.zeros((0, 3))
        self.candidate = self.fiducial_only = None
        self._surface = None
        self.refit()
        self._build_surface(head)

    def _build_surface(self, head) -> None:
        """Index the MRI scalp for closest-point queries off the GUI thread (0.2-0.5 s). A plain
        worker thread, not a QThread: closing the window mid-build must not abort the process.

        The mesh's arrays are copied here, on the GUI thread, and the worker gets plain numpy:
        touching a VTK object from a worker while the GUI thread renders can deadlock (VTK's
        garbage collector lock against the Python GIL; seen in a GUI test as a frozen window)."""
        self._surface_future = None
        if head is None or head.scalp is None:
            return
        mesh = head.scalp
        if not isinstance(mesh, tuple):                # a pyvista PolyData
            if not getattr(mesh, "is_all_triangles", True):
                mesh = mesh.triangulate()
            mesh = (np.array(mesh.points, dtype=float), np.array(mesh.regular_faces, dtype=np.int64))
        self._surface_future = (head, _EXECUTOR.submit(SurfaceIndex, mesh))

    def surface(self) -> SurfaceIndex | None:
        """The MRI scalp index of the current head (waits for the background build if needed)."""
        head = self.state.head
        if head is None or head.scalp is None:
            return None
        if self._surface is None:
            pending = self._surface_future
            if pending is not None and pending[0] is head:
                try:
                    self._surface = pending[1].result()
                except Exception:  # noqa: BLE001 - build it here instead, and say why if it fails
                    log.exception("background scalp index failed")
            if self._surface is None:
                self._surface = SurfaceIndex(head.scalp)
        return self._surface

    # ----- the pivot divot (never a landmark) ----------------------------------------------
    def _calibration_changed(self, tool: str) -> None:
        """Remember where the divot was relative to the head reference when the pointer was
        calibrated (a divot on the reference itself stays there; a room-fixed one is also
        checked in tracker coordinates, see :meth:`divot_positions`)."""
        if tool != "pointer":
            return
        self._divot_reference = None
        divot = self.divot_tracker()
        acq = self.tracking.acquisition
        frame = acq.latest(self.tool("reference")) if acq is not None else None
        if divot is None or frame is None or not frame.is_trackable:
            return
        tracker_from_reference = np.asarray(frame.tracker_from_tool, float)
        r, t = tracker_from_reference[:3, :3], tracker_from_reference[:3, 3]
        self._divot_reference = r.T @ (divot - t)

    def divot_tracker(self) -> np.ndarray | None:
        """The pivot point of the pointer calibration in tracker coordinates (mm), if known."""
        pivot = getattr(self.state.pointer_calibration, "pivot_tracker_mm", None)
        return None if pivot is None else np.asarray(pivot, float).reshape(3)

    def divot_positions(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(divot in tracker mm, divot in head-reference mm), each None when unknown."""
        return self.divot_tracker(), self._divot_reference

    def tip_in_tracker(self) -> np.ndarray | None:
        """The latest live pointer tip in tracker coordinates (mm), or None."""
        acq = self.tracking.acquisition
        tip = self.state.pointer_from_tip
        if acq is None or tip is None:
            return None
        frame = acq.latest(self.tool("pointer"))
        if frame is None or not frame.is_trackable:
            return None
        m = np.asarray(frame.tracker_from_tool, float)
        return m[:3, :3] @ tip.translation + m[:3, 3]

    # ----- tracker ------------------------------------------------------------------------
    def tool(self, role: str) -> str:
        return self.tracking.roles.get(role, role)

    def paired_tip(self, frame_role: str = "reference") -> tuple[np.ndarray | None, str]:
        """Pointer tip (mm) in the ``frame_role`` tool's frame, or None and the reason."""
        acq = self.tracking.acquisition
        if acq is None:
            return None, "The tracker is not connected: connect it in the Tracker tab."
        pointer_from_tip = self.state.pointer_from_tip
        if pointer_from_tip is None:
            return None, "The pointer is not calibrated yet: do the pointer pivot step first."
        names = {frame_role: self.tool(frame_role), "pointer": self.tool("pointer")}
        now = time.monotonic_ns()
        frames = acq.snapshot(list(names.values()), now_ns=now, max_frame_gap=0)
        for role, name in names.items():
            frame = frames[name] if frames is not None else acq.latest(name)
            label = ROLE_LABELS.get(role, role)
            if frame is None:
                return None, f"No data from the {label} ('{name}') yet."
            if frames is None and not acq.is_fresh(frame, now):
                return None, f"The {label} data is stale: no recent frame from the tracker."
            if not frame.is_trackable:
                return None, f"The {label} is not tracked ({frame.status.label})."
        if frames is None:
            return None, ("The pointer and the " + ROLE_LABELS.get(frame_role, frame_role) +
                          " were not measured in the same camera frame; try again.")
        point = tip_in_frame(frames[names[frame_role]].tracker_from_tool,
                             frames[names["pointer"]].tracker_from_tool,
                             pointer_from_tip.translation)
        return np.asarray(point, float), ""

    def paired_history(self, frame_role: str = "reference", since_ns: int = 0,
                       seconds: float = 2.0) -> list[tuple[int, np.ndarray | None]]:
        """Every pointer frame received after ``since_ns`` (host clock), paired with the
        ``frame_role`` frame of the same device frame: ``(host_time_ns, tip or None)``.

        Reading the acquisition history, not the GUI's latest snapshot, gives the device rate
        (60 Hz) even when the GUI thread redraws slowly; None marks a frame in which either tool
        was not tracked (a hold or a sweep is interrupted there).
        """
        acq = self.tracking.acquisition
        pointer_from_tip = self.state.pointer_from_tip
        if acq is None or pointer_from_tip is None:
            return []
        def key(frame):
            return frame.frame_number if frame.frame_number is not None else frame.host_time_ns
        others = {key(f): f for f in acq.history(self.tool(frame_role), seconds)}
        tip = pointer_from_tip.translation
        out: list[tuple[int, np.ndarray | None]] = []
        for frame in acq.history(self.tool("pointer"), seconds):
            if frame.host_time_ns <= since_ns:
                continue
            other = others.get(key(frame))
            if other is None or not (frame.is_trackable and other.is_trackable):
                out.append((frame.host_time_ns, None))
                continue
            point = tip_in_frame(other.tracker_from_tool, frame.tracker_from_tool, tip)
            out.append((frame.host_time_ns, np.asarray(point, float)))
        return out

    # ----- fiducials ----------------------------------------------------------------------
    def pairs(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(MRI, touched) for the landmarks that have both sides, in table order."""
        names = [n for n in self.landmark_names if n in self.mri_fiducials and n in self.touched]
        return ({n: self.mri_fiducials[n] for n in names}, {n: self.touched[n] for n in names})

    def refit(self) -> None:
        """Fiducial registration as soon as three landmarks have both sides (or why not)."""
        mri, touched = self.pairs()
        self.fiducial_fit, self.fiducial_error = None, ""
        if len(mri) >= 3:
            try:
                self.fiducial_fit = register_fiducials(mri, touched)
            except (RegistrationError, NavigationError) as exc:
                self.fiducial_error = str(exc)
        self.fiducialsChanged.emit()

    @property
    def fit_ok(self) -> bool:
        return self.fiducial_fit is not None and self.fiducial_fit.accepted

    def working_mri_from_reference(self) -> Transform | None:
        """Best registration known right now: this run's fiducial fit, else the accepted one."""
        if self.fiducial_fit is not None:
            return self.fiducial_fit.mri_from_reference
        return self.state.mri_from_reference

    def clear_touches(self) -> None:
        """The pointer calibration changed: every touched point and scalp sample is void."""
        self.touched = {}
        self.scalp_points = np.zeros((0, 3))
        self.candidate = self.fiducial_only = None
        self.refit()

    def tre_targets(self) -> dict[str, np.ndarray]:
        """Where to predict TRE: the active target (its cortex point if known), else the cursor."""
        target = self.state.targets.active if self.state.targets is not None else None
        if target is not None:
            point = target.cortex_point_mm if target.cortex_point_mm is not None \
                else target.scalp_point_mm
            return {target.name: np.asarray(point, float)}
        return {"cursor": np.asarray(self.window.cursor_mri, float).copy()}
