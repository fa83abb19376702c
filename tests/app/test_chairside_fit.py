"""Small screens: at 1366x768 and 1024x768 every tab of the side panel fits, no visible text is
cut, and the views keep at least 55 % of the width (issue 12: "the side panel eats the view")."""

import pytest
from PySide6 import QtWidgets

from tests.app.chairside_fit_helpers import cut_texts, settled_cut_texts

pytestmark = pytest.mark.gui

SIZES = [(1366, 768), (1024, 768)]


@pytest.fixture
def sample_head_loaded(window, qtbot):
    """The sample head with the demo's two targets: the panels as a user sees them."""
    from tmsnav.app.demo import prepare_demo_plan

    with qtbot.waitSignal(window.headLoaded, timeout=120_000):
        window.open_sample_head()
    prepare_demo_plan(window.state)
    window.wait_for_job()
    # a tracker streaming: tool lights, the simulated technician's phase and the tracker state
    # take their room in the Tracker tab and the status bar
    window.connect_tracker_spec("sim:coil_approach?hold_s=600")
    qtbot.waitUntil(lambda: window.tracking.last is not None and window.tracking.last.connected,
                    timeout=20_000)
    yield
    window.tracking.stop()


def views_of(page):
    """Every view of a tab page a user can bring up: each Registration step, each way of adding
    a target in Planning, or the page as it is."""
    from tmsnav.app.panels.registration_panel import RegistrationPanel
    from tmsnav.app.planning.add_target_box import AddTargetBox

    if isinstance(page, RegistrationPanel):
        return [(f"step {s.key}", lambda k=s.key: page.go_to(k)) for s in page.steps]
    boxes = page.findChildren(AddTargetBox)
    if boxes:
        box = boxes[0]
        return [(f"add by {box.method.itemText(j)}", lambda j=j: box.method.setCurrentIndex(j))
                for j in range(box.method.count())]
    return [("", lambda: None)]


def settle(window, qtbot, w, h):
    window.resize(w, h)
    qtbot.waitUntil(lambda: window.width() == w and window.height() == h, timeout=3000)
    window.chairside.fit_side_panel()
    cap = window.chairside.side_panel_max_px()
    qtbot.waitUntil(lambda: window._dock.width() <= cap + 2, timeout=3000)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_tab_fits_and_no_visible_text_is_cut(window, qtbot, size, sample_head_loaded):
    settle(window, qtbot, *size)
    tabs = window.panels
    problems = {}
    seen = []
    for path, row, i in tabs.leaves():          # groups opened: "Plan > fMRI" is a page too
        tabs.show_leaf(row, i)
        area = row.scroll_area(i)
        page = row.page(i)
        for view, show in views_of(page):
            show()
            seen.append(f"{path} {view}")
            QtWidgets.QApplication.processEvents()
            cut = settled_cut_texts(window, qtbot)
            page_w = QtWidgets.QWidget.width(page)       # a panel may shadow width() with a child
            if page_w > area.viewport().width():           # no horizontal scroll bar: would be cut
                cut.append(f"page is {page_w} px wide in a {area.viewport().width()} px panel")
            if cut:
                problems[f"{path} {view}".strip()] = cut
    assert sum(v.startswith("Registration step") for v in seen) >= 7, seen
    assert sum(v.startswith("Plan > Targets add by") for v in seen) >= 3, seen
    paths = {path for path, _, _ in tabs.leaves()}
    assert {"Plan > Targets", "Plan > fMRI", "Plan > qEEG", "Navigate"} <= paths, paths
    assert not problems, "\n".join(f"{k}: {v}" for k, vs in problems.items() for v in vs)
    assert window.centralWidget().width() >= 0.55 * window.width()


def test_the_checker_sees_a_cut_label_button_and_wrapped_text(qtbot):
    """The fit test can fail: a label narrower than its text, a squeezed button, a wrapped label
    shorter than its lines are all reported; the same widgets with room are not."""
    box = QtWidgets.QWidget()
    qtbot.addWidget(box)
    layout = QtWidgets.QVBoxLayout(box)
    label = QtWidgets.QLabel("Distance on scalp: 12.5 mm")
    button = QtWidgets.QPushButton("Large chairside layout (Ctrl+L)")
    wrapped = QtWidgets.QLabel("a long reason that has to wrap over several lines " * 3)
    wrapped.setWordWrap(True)
    for w in (label, button, wrapped):
        layout.addWidget(w)
    box.resize(600, 300)
    box.show()
    qtbot.waitExposed(box)
    assert cut_texts(box) == []
    label.setFixedWidth(60)
    button.setFixedWidth(80)
    wrapped.setFixedSize(200, 20)
    QtWidgets.QApplication.processEvents()
    cut = cut_texts(box)
    assert len(cut) == 3, cut
    assert any("QLabel" in c and "px wide" in c for c in cut)
    assert any("QPushButton" in c for c in cut)
    assert any("wrapped text" in c for c in cut)


def test_cursor_readout_drops_voxel_then_value_never_cuts_a_coordinate(qtbot):
    from tmsnav.app.cursor_readout import CursorReadout

    label = CursorReadout("no image")
    qtbot.addWidget(label)
    parts = ["mri RAS (-40.0, +10.0, +20.0) mm", "voxel (64, 119, 119)", "value 316",
             "MNI (-38.0, +44.0, +26.0) mm"]
    label.set_parts(parts, drop_order=[1, 2])
    label.show()
    full = label.sizeHint().width()
    for width, shown in ((full + 10, [0, 1, 2, 3]), (full - 60, [0, 2, 3]), (full - 160, [0, 3])):
        label.resize(width, label.sizeHint().height())
        QtWidgets.QApplication.processEvents()
        assert label.text() == "   ".join(parts[i] for i in shown), width
        assert cut_texts(label) == []
    assert label.toolTip() == "   ".join(parts)
    assert label.minimumSizeHint().width() < full - 160
