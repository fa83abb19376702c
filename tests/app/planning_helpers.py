"""The planning tests' shared set-up: the 2 mm phantom head with its surfaces, opened in a shown
main window on the Planning tab (one place, so the tests agree on the head they plan on)."""

from __future__ import annotations

from pathlib import Path

from tmsnav.app.loading import LoadedHead
from tmsnav.app.main_window import MainWindow
from tmsnav.navigation.phantom import PhantomHead, make_phantom_head
from tmsnav.navigation.surfaces.head import head_surfaces

__all__ = ["phantom_with_surfaces", "open_planning_window", "open_planned_sample_head"]


def phantom_with_surfaces() -> tuple[PhantomHead, object, object]:
    """(phantom, scalp, brain): the phantom at 2 mm and its surfaces (60k faces at most)."""
    ph = make_phantom_head(voxel_mm=2.0)
    surfaces = head_surfaces(ph.volume, brain_mask=ph.brain_mask, max_faces=60_000)
    return ph, surfaces.scalp, surfaces.brain


def open_planning_window(qtbot, phantom: tuple, size: tuple[int, int] = (1200, 800),
                         with_brain: bool = True) -> MainWindow:
    """A shown main window of ``size`` with the phantom loaded, on the Planning tab. The
    fiducials are the phantom's nasion and ears (no inion: the planner estimates it); without
    the brain, the head has neither brain nor fiducials (what a bare scalp import gives)."""
    ph, scalp, brain = phantom
    fids = {"nasion": ph.nasion, "lpa": ph.lpa, "rpa": ph.rpa} if with_brain else None
    brain = brain if with_brain else None
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w._on_head_loaded(LoadedHead(ph.volume, scalp, brain, fids))
    w.panels.setCurrentWidget(w.planning_panel)
    return w


def open_planned_sample_head(qtbot, window: MainWindow, session_folder: Path | None = None,
                             timeout_ms: int = 180_000):
    """The sample head opened in ``window`` with the demo's two targets planned (Fox 2012 active),
    in a new session at ``session_folder`` when given (returned; else None): what a user has
    before navigating."""
    from tmsnav.app.demo import prepare_demo_plan
    from tmsnav.navigation.session.store import Session

    session = None if session_folder is None else Session.create(session_folder, "anon-x01")
    if session is not None:
        window.state.set_session(session)
    with qtbot.waitSignal(window.headLoaded, timeout=timeout_ms):
        window.open_sample_head()
    window.wait_for_job()
    prepare_demo_plan(window.state)
    return session
