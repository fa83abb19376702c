"""The 3-D view never renders synchronously inside a change (pyvista's add_text and scalar bar
render at once by default: a frozen window of 30-170 ms under software GL, then a second render
for the same change); it schedules one repaint instead."""

import numpy as np
import pytest

import tmsnav.app.panels.planning_panel as planning_panel_module
from tmsnav.app.loading import LoadedHead
from tmsnav.app.main_window import MainWindow
from tmsnav.app.view3d import HeadView3D
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.head import head_surfaces

pytestmark = pytest.mark.gui


def render_counter(view):
    count = [0]
    view.plotter.render_window.AddObserver("EndEvent", lambda *_: count.__setitem__(0, count[0] + 1))
    return count


def test_banner_and_legend_schedule_one_render_instead_of_rendering_now(qtbot):
    view = HeadView3D()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.render_now()
    count = render_counter(view)
    view.set_banner("TRACKING INVALID: reference not seen")
    view.set_brain_legend("Brain: approximate, from the template (MNI152)")
    assert count[0] == 0                                   # nothing rendered inside the calls
    qtbot.waitUntil(lambda: count[0] >= 1, timeout=5000)   # the scheduled repaint
    assert view.banner.startswith("TRACKING INVALID") and view.brain_legend.startswith("Brain")
    view.close_plotter()


def test_the_field_map_is_drawn_without_a_synchronous_render(qtbot, monkeypatch):
    ph = make_phantom_head(voxel_mm=2.0)
    surfaces = head_surfaces(ph.volume, brain_mask=ph.brain_mask, max_faces=60_000)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w._on_head_loaded(LoadedHead(ph.volume, surfaces.scalp, surfaces.brain,
                                 {"nasion": ph.nasion, "lpa": ph.lpa, "rpa": ph.rpa}))
    panel = w.planning_panel
    scalp, normal = ph.scalp_point(np.array([-0.45, 0.55, 0.7]))
    w.set_cursor(np.asarray(scalp).reshape(3) - 18.0 * np.asarray(normal).reshape(3))
    panel.add_box.choose("manual")
    panel.add_box.add_button.click()
    assert w.wait_for_job(30_000)
    count = render_counter(w.view3d)
    during = []
    original = planning_panel_module.show_field_map

    def counted(*args, **kwargs):
        before = count[0]
        mesh = original(*args, **kwargs)
        during.append(count[0] - before)
        return mesh

    monkeypatch.setattr(planning_panel_module, "show_field_map", counted)
    with qtbot.waitSignal(panel.fieldShown, timeout=30_000):
        panel.efield_box.compute.click()
    assert w.wait_for_job(30_000)
    assert during == [0]
    qtbot.waitUntil(lambda: count[0] >= 1, timeout=5000)
    w.close()
