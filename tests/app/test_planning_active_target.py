"""One obvious active target (issue 12): the selected row IS the active target, so the "why"
box, the e-field, guidance and the 3-D mark all describe the same one; its 3-D label is never
the one left out; selecting a row rebuilds no glyph. On the phantom head (exact geometry)."""

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from PySide6.QtTest import QTest

from tmsnav.app.planning.target_display import ACTIVE_LABEL, ACTIVE_OVERLAY, LABELS, OVERLAY
from tmsnav.app.planning.target_labels import ACTIVE_PREFIX
from tmsnav.navigation.session import Session


pytestmark = pytest.mark.gui


WINDOW_SIZE = (1366, 768)


@pytest.fixture
def phantom(planning_phantom):
    return planning_phantom


@pytest.fixture
def window(planning_window):
    return planning_window


def cortex_point(ph, direction, depth_mm=18.0):
    scalp, normal = ph.scalp_point(np.asarray(direction, float))
    return np.asarray(scalp).reshape(3) - depth_mm * np.asarray(normal).reshape(3)


def add_manual(window, point, name):
    panel = window.planning_panel
    window.set_cursor(point)
    panel.add_box.choose("manual")
    panel.add_box.name.setText(name)
    panel.add_box.add_button.click()
    assert window.wait_for_job(30_000)
    return window.state.targets[name]


def click_row(table, row):
    rect = table.visualRect(table.model().index(row, 1))
    QTest.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                     rect.center())


def test_clicking_a_row_makes_it_the_active_target_everywhere(window, qtbot, phantom, tmp_path):
    ph, _, _ = phantom
    window.state.set_session(Session.create(tmp_path / "S1", "S1"))
    a = add_manual(window, cortex_point(ph, [-0.45, 0.55, 0.7]), "left frontal")
    b = add_manual(window, cortex_point(ph, [0.45, 0.55, 0.7]), "right frontal")
    panel, box = window.planning_panel, window.planning_panel.list_box
    assert window.state.targets.active is b and box.selected_name() == b.name  # added: active, selected
    # the e-field of b, then the user clicks a's row
    with qtbot.waitSignal(panel.fieldShown, timeout=30_000):
        panel.efield_box.compute.click()
    assert window.wait_for_job(30_000)
    assert panel.efield_box.values["target"].text().startswith(b.name)
    click_row(box.table, 0)
    targets = window.state.targets
    assert targets.active.name == a.name and box.selected_name() == a.name
    assert box.why.text().startswith(f"<b>{a.name}</b>")
    assert panel.field is None                                   # b's field no longer shown for a
    assert panel.efield_box.values["target"].text() == f"{a.name} (not computed yet)"
    assert a.name in panel.efield_box.values["note"].text()
    assert panel.efield_box.compute.text() == f"Compute field at {a.name}"
    assert a.name in window.guidance_panel.target_label.text()
    np.testing.assert_allclose(window.cursor_mri, a.cortex_point_mm)
    np.testing.assert_allclose(window.view3d._actors[ACTIVE_OVERLAY].user_matrix, a.mri_from_target.matrix)
    assert window.planning_panel.drawer.labels.texts == [ACTIVE_PREFIX + a.name, b.name]
    reopened = Session.open(tmp_path / "S1")
    assert reopened.record.targets["active"] == a.name
    # the keyboard moves the selection, and the active target with it
    box.table.setFocus()
    QTest.keyClick(box.table, QtCore.Qt.Key.Key_Down)
    assert window.state.targets.active.name == b.name and box.selected_name() == b.name


def test_selecting_a_row_rebuilds_no_glyph_and_keeps_the_actors(window, phantom):
    """0.6 s per click came from rebuilding every glyph and re-adding the actors; now the
    active mark is moved and the labels are updated in place."""
    ph, _, _ = phantom
    for i, x in enumerate((-0.5, -0.25, 0.0, 0.25, 0.5)):
        add_manual(window, cortex_point(ph, [x, 0.5, 0.7]), f"T{i}")
    view, drawer = window.view3d, window.planning_panel.drawer
    glyphs, marker, labels = view._actors[OVERLAY], view._actors[ACTIVE_OVERLAY], view._actors[LABELS]
    active_label = view._actors[ACTIVE_LABEL]
    builds = drawer.glyph_builds
    box = window.planning_panel.list_box
    for row in (0, 3, 1):
        click_row(box.table, row)
        assert window.state.targets.active.name == f"T{row}"
    assert drawer.glyph_builds == builds
    assert view._actors[OVERLAY] is glyphs and view._actors[ACTIVE_OVERLAY] is marker
    assert view._actors[LABELS] is labels and view._actors[ACTIVE_LABEL] is active_label
    # renaming changes one target: one glyph is built, the others come from the cache
    window.planning_panel.rename_target("T1", "T1 renamed")
    assert drawer.glyph_builds == builds + 1


def active_label_box(window):
    """The active label's pixel box (x0, x1, y0, y1) and its yellow text pixels, rendered with
    every actor but the labels hidden (the yellow ring too)."""
    view = window.view3d
    hidden = [a for name, a in view._actors.items() if name not in (LABELS, ACTIVE_LABEL) and a.GetVisibility()]
    for actor in hidden:
        actor.SetVisibility(False)
    try:
        view.render_now()
        image = np.asarray(view.plotter.screenshot(return_img=True)).astype(int)
    finally:
        for actor in hidden:
            actor.SetVisibility(True)
    renderer = view.plotter.renderer
    size = [0.0] * 4
    actor = view._actors[ACTIVE_LABEL]
    actor.GetBoundingBox(renderer, size)                  # relative to the actor's position
    px, py = actor.GetPosition()
    bbox = [px + size[0], px + size[1], py + size[2], py + size[3]]
    scale = image.shape[1] / renderer.GetSize()[0]
    x0, x1 = int(bbox[0] * scale), int(bbox[1] * scale)
    y0, y1 = image.shape[0] - int(bbox[3] * scale), image.shape[0] - int(bbox[2] * scale)
    patch = image[max(y0, 0):y1, max(x0, 0):x1, :3]
    yellow = (patch[..., 0] > 180) & (patch[..., 1] > 160) & (patch[..., 2] < 120)
    return bbox, int(yellow.sum())


def test_the_active_label_is_drawn_whole_and_never_the_one_left_out(window, phantom):
    """Five targets 6 mm apart with long names: their labels crowd, so VTK leaves some out, and
    a label beside a target near the view's edge runs past it. The active one is drawn (yellow,
    "ACTIVE: ...") whole inside the view, whichever target it is; the old labels left it out."""
    ph, _, _ = phantom
    for i in range(5):
        add_manual(window, cortex_point(ph, [-0.5 + 0.05 * i, 0.55, 0.65]),
                   f"Target number {i}, dorsolateral prefrontal, long name")
    window.view3d.view_from("front_left")
    box = window.planning_panel.list_box
    w, h = window.view3d.plotter.renderer.GetSize()
    for row in (2, 4, 0):
        click_row(box.table, row)
        t = window.state.targets.active
        assert t.name.startswith(f"Target number {row},")
        bbox, yellow = active_label_box(window)
        assert yellow > 50
        assert 0 <= bbox[0] and bbox[1] <= w and 0 <= bbox[2] and bbox[3] <= h, (bbox, w, h)


def test_long_names_in_the_distance_table_are_not_cut(window, qtbot, phantom):
    """Five equal columns cut "L-DLPFC Fox 2012 group target" to "L-DL…"; names now wrap
    in the columns that stretch and every line of them fits its row."""
    ph, _, _ = phantom
    long_a, long_b = "L-DLPFC Fox 2012 group target", "Left M1 hand knob (Mayka 2006)"
    add_manual(window, cortex_point(ph, [-0.45, 0.55, 0.7]), long_a)
    add_manual(window, cortex_point(ph, [-0.6, -0.1, 0.8]), long_b)
    table = window.planning_panel.list_box.distances
    qtbot.waitUntil(lambda: table.isVisible() and table.columnWidth(0) > 0)
    window.planning_panel.list_box.show_distances()
    QtCore.QCoreApplication.processEvents()
    assert table.textElideMode() == QtCore.Qt.TextElideMode.ElideNone and table.wordWrap()
    fm = table.fontMetrics()
    for col, name in ((0, long_a), (1, long_b)):
        assert table.item(0, col).text() == name
        width = table.columnWidth(col) - 8                        # cell margins
        needed = fm.boundingRect(QtCore.QRect(0, 0, width, 10_000),
                                 int(QtCore.Qt.TextFlag.TextWordWrap), name)
        assert needed.width() <= width and needed.height() <= table.rowHeight(0), (col, name)
    # the numbers keep their own width: never narrower than their text
    assert table.columnWidth(2) >= fm.horizontalAdvance(table.item(0, 2).text())


def test_the_manual_form_shows_the_cursor_moved_while_another_method_was_chosen(window, phantom):
    """The manual form's cursor text is refreshed only while it is on screen (speed); choosing
    it must still show where the cursor is now, never a stale position."""
    ph, _, _ = phantom
    panel = window.planning_panel
    panel.add_box.choose("ten_twenty")
    point = cortex_point(ph, [0.3, -0.2, 0.9])
    window.set_cursor(point)                                  # the manual form is hidden now
    panel.add_box.choose("manual")
    QtCore.QCoreApplication.processEvents()
    text = panel.add_box.forms["manual"].cursor_info.text()
    assert "({:+.1f}, {:+.1f}, {:+.1f})".format(*point) in text


def test_long_names_in_the_target_table_wrap_instead_of_being_cut(window, qtbot, phantom):
    ph, _, _ = phantom
    name = "L-DLPFC Fox 2012 group target, sgACC anticorrelation"
    add_manual(window, cortex_point(ph, [-0.45, 0.55, 0.7]), name)
    table = window.planning_panel.list_box.table
    qtbot.waitUntil(lambda: table.isVisible() and table.columnWidth(1) > 0)
    QtCore.QCoreApplication.processEvents()
    text = table.item(0, 1).text()
    assert text == name and table.textElideMode() == QtCore.Qt.TextElideMode.ElideNone
    assert table.item(0, 0).text() == "● active"
    width = table.columnWidth(1) - 8
    fm = QtGui.QFontMetrics(table.item(0, 1).font())
    needed = fm.boundingRect(QtCore.QRect(0, 0, width, 10_000), int(QtCore.Qt.TextFlag.TextWordWrap), text)
    assert needed.width() <= width and needed.height() <= table.rowHeight(0)


def test_the_release_of_a_row_click_repaints_no_view_again(window, qtbot, phantom):
    """A click selects the row on press (the target becomes active, the cursor goes there,
    the views repaint); the release must not move the cursor to the same place again, which
    repainted all four views a second time under software rendering."""
    ph, _, _ = phantom
    a = add_manual(window, cortex_point(ph, [-0.45, 0.55, 0.7]), "left frontal")
    add_manual(window, cortex_point(ph, [0.45, 0.55, 0.7]), "right frontal")
    cursor_moves = []
    window.cursorChanged.connect(lambda p: cursor_moves.append(np.array(p)))
    table = window.planning_panel.list_box.table
    pos = table.visualRect(table.model().index(0, 1)).center()
    QTest.mousePress(table.viewport(), QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, pos)
    qtbot.waitUntil(lambda: window.state.targets.active.name == a.name and len(cursor_moves) == 1)
    QTest.mouseRelease(table.viewport(), QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                       pos)
    for _ in range(10):
        QtCore.QCoreApplication.processEvents()
    assert len(cursor_moves) == 1
    np.testing.assert_allclose(cursor_moves[0], a.cortex_point_mm)


def test_only_the_active_row_is_marked_after_several_clicks(window, phantom):
    """Cells are updated only where their text changed; the marks of the previously active
    rows must still go (a bold name once stayed bold on every row that had been active)."""
    ph, _, _ = phantom
    for i, x in enumerate((-0.5, 0.0, 0.5)):
        add_manual(window, cortex_point(ph, [x, 0.5, 0.7]), f"T{i}")
    table = window.planning_panel.list_box.table
    for row in (0, 2, 1):
        click_row(table, row)
    marks = [table.item(r, 0).text() for r in range(3)]
    assert marks == ["○", "● active", "○"]                                 # the last clicked: T1
    assert len({table.item(r, 1).font().bold() for r in range(3)}) == 1     # one font for all names
    assert len({table.rowHeight(r) for r in range(3)}) == 1
