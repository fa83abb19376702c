"""Shared GUI fixtures: a shown main window, closed (and its GL context released) after the test,
and the phantom head with its surfaces for the planning tests."""

import pytest

from tmsnav.app.main_window import MainWindow
from tests.app.planning_helpers import open_planning_window, phantom_with_surfaces


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture(scope="module")
def planning_phantom():
    """(phantom, scalp, brain), built once per test module."""
    return phantom_with_surfaces()


@pytest.fixture
def planning_window(qtbot, planning_phantom, tmp_path, monkeypatch, request):
    """A shown window with the phantom on the Planning tab; a module may set ``WINDOW_SIZE``.
    The user cache goes to a temporary folder (the MNI registration caches there)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    w = open_planning_window(qtbot, planning_phantom, size=getattr(request.module, "WINDOW_SIZE", (1200, 800)))
    yield w
    w.close()
