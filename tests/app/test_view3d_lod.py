"""3-D view level of detail: while the mouse rotates the head a light proxy is drawn, the full
surface comes back when the mouse is released; clicks, opacity and small surfaces unaffected."""

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest

from tmsnav.app.view3d import HeadView3D
from tmsnav.app.view3d_lod import LOD_MIN_TRIANGLES
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def scalp():
    """A phantom scalp of ~150k triangles (a large surface, as the app's default budget)."""
    ph = make_phantom_head(voxel_mm=1.5)
    mesh = extract_scalp(ph.volume, max_faces=150_000)
    assert mesh.n_cells > 2 * LOD_MIN_TRIANGLES
    return mesh


@pytest.fixture
def view(qtbot, scalp):
    v = HeadView3D()
    qtbot.addWidget(v)
    v.resize(500, 400)
    v.show()
    qtbot.waitExposed(v)
    v.set_surfaces(scalp, None)
    v.render_now()
    yield v
    v.close_plotter()


def test_a_mouse_drag_draws_the_proxy_and_the_release_the_full_surface(view, scalp, qtbot):
    drawn = []
    view.plotter.render_window.AddObserver("EndEvent", lambda *_: drawn.append(view.triangles_drawn()))
    widget = view.plotter.interactor
    centre = widget.rect().center()
    camera_before = np.array(view.plotter.camera.position)
    QTest.mousePress(widget, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, centre)
    for step in range(1, 6):
        QTest.mouseMove(widget, centre + QtCore.QPoint(12 * step, 0))
        qtbot.waitUntil(lambda n=len(drawn): len(drawn) > n or view.lod.interacting, timeout=5000)
    assert view.lod.interacting
    view.render_now()                                    # a frame drawn during the drag
    QTest.mouseRelease(widget, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                       centre + QtCore.QPoint(60, 0))
    assert not view.lod.interacting
    assert not np.allclose(view.plotter.camera.position, camera_before)   # the drag rotated
    during = [n for n in drawn[:-1] if n]
    assert during and max(during) < 0.4 * scalp.n_cells                    # the proxy
    view.render_now()
    assert drawn[-1] == scalp.n_cells                                      # full detail again


def test_the_proxy_follows_opacity_and_hiding(view, scalp):
    view.set_scalp_opacity(0.4)
    view.begin_interaction()
    proxy = view.lod.proxies["scalp"]
    assert proxy.GetVisibility() and proxy.GetProperty().GetOpacity() == pytest.approx(0.4)
    assert not view._actors["scalp"].GetVisibility()
    view.set_scalp_opacity(0.0)                          # hidden: neither version is drawn
    assert view.triangles_drawn() == 0
    view.set_scalp_opacity(1.0)
    view.end_interaction()
    assert view._actors["scalp"].GetVisibility() and not proxy.GetVisibility()
    assert view.triangles_drawn() == scalp.n_cells


def test_a_click_picks_the_full_surface_and_small_surfaces_get_no_proxy(view, scalp, qtbot):
    view.view_from("front")
    view.render_now()
    centre = np.asarray(scalp.center)
    x, y = view.world_to_display(centre + np.array([0.0, 200.0, 0.0]))
    picked = view.pick_at(int(x), int(y))
    assert picked is not None
    # on the full surface: a vertex of the full mesh lies within a triangle's size of the pick
    assert np.min(np.linalg.norm(np.asarray(scalp.points) - picked, axis=1)) < 2.0
    small = scalp.decimate(1.0 - 20_000 / scalp.n_cells)
    view.set_surfaces(small, None, reset_camera=False)
    assert "scalp" not in view.lod.proxies
    view.begin_interaction()
    assert view.triangles_drawn() == small.n_cells
    view.end_interaction()
