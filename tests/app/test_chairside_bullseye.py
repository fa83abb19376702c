"""The bullseye's picture agrees with the patient: seen from outside the head, anterior up in
anatomical mode, the patient's right on the side the "Right (+)" number says (both hemispheres),
and in both orientations the dot moves where a camera outside the head would see the coil move.

Targets sit on the phantom head (tmsnav.navigation.phantom), on either side and on the vertex;
the coil pose is the target pose moved by a known distance along a known patient direction, and
the error is computed by the real guidance_error, as in the Navigate tab.
"""

import numpy as np
import pytest
from PySide6 import QtGui

from tmsnav.app.bullseye import ANTERIOR_UP, HANDLE_UP, Bullseye
from tmsnav.navigation.guidance import anatomical_axes, guidance_error
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.targeting.targets import Evidence, Target
from tmsnav.navigation.transforms import Frame, Transform

pytestmark = pytest.mark.gui

RAS = {"right": np.array([1.0, 0, 0]), "left": np.array([-1.0, 0, 0]),
       "anterior": np.array([0, 1.0, 0]), "posterior": np.array([0, -1.0, 0])}
#: where on the head (direction from the scalp centre) and where the handle points (RAS)
PLACES = {"left DLPFC": ([-0.45, 0.55, 0.7], [0.3, -1.0, 0.0]),
          "right DLPFC": ([0.45, 0.55, 0.7], [-0.3, -1.0, 0.0]),
          "left M1": ([-0.6, -0.1, 0.8], [-0.7, -0.7, 0.0]),
          "vertex": ([0.0, 0.0, 1.0], [0.0, -1.0, 0.0])}


@pytest.fixture(scope="module")
def phantom():
    return make_phantom_head(voxel_mm=3.0)


def target_at(phantom, place: str) -> Target:
    direction, handle_hint = (np.asarray(v, float) for v in PLACES[place])
    points, normals = phantom.scalp_point(direction / np.linalg.norm(direction))
    p, n = np.asarray(points).reshape(3), np.asarray(normals).reshape(3)
    inward = -n / np.linalg.norm(n)
    handle = handle_hint - (handle_hint @ inward) * inward      # in the scalp's tangent plane
    handle /= np.linalg.norm(handle)
    return Target(place, p, inward, handle, "manual", Evidence("test", "bullseye test"))


def coil_moved(target: Target, ras_direction: np.ndarray, mm: float) -> Transform:
    """The coil on the target, slid ``mm`` along the scalp towards ``ras_direction``."""
    n = target.normal
    along = ras_direction - (ras_direction @ n) * n
    along /= np.linalg.norm(along)
    m = target.mri_from_target.matrix.copy()
    m[:3, 3] += mm * along
    return Transform(Frame.MRI, Frame.HOTSPOT, m)


def bullseye_for(qtbot, target: Target, orientation: str) -> Bullseye:
    b = Bullseye()
    qtbot.addWidget(b)
    b.resize(320, 320)
    b.set_orientation(orientation)
    b.set_anatomical_axes(*anatomical_axes(target.mri_from_target))
    b.show()
    qtbot.waitExposed(b)
    return b


def drawn_dot(b: Bullseye) -> tuple[float, float]:
    """Centroid of the dot's colour in the rendered widget, relative to the centre (x right,
    y UP, pixels): what the user sees, not what the code meant to draw."""
    img = b.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    want = b.colour()
    xs, ys = [], []
    for y in range(img.height()):
        for x in range(img.width()):
            c = QtGui.QColor(img.pixel(x, y))
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 40:
                xs.append(x)
                ys.append(y)
    assert len(xs) > 50, "no dot drawn"
    return float(np.mean(xs)) - b.width() / 2, b.height() / 2 - float(np.mean(ys))


@pytest.mark.safety(hazard="left-right", control="the bullseye draws a coil 5 mm anterior above the "
                    "centre and a coil to the patient's right on the right in anatomical mode, with "
                    "the Anterior/Right numbers of the same sign, on both hemispheres")
@pytest.mark.parametrize("place", ["left DLPFC", "right DLPFC", "left M1"])
def test_anatomical_bullseye_draws_anterior_up_and_right_on_the_side_the_number_says(qtbot, phantom, place):
    target = target_at(phantom, place)
    b = bullseye_for(qtbot, target, ANTERIOR_UP)
    px_per_mm = (min(b.width(), b.height()) - 2 * b._margin()) / 2 / b.range_mm

    err = guidance_error(target.mri_from_target, coil_moved(target, RAS["anterior"], 5.0))
    assert err.anterior_mm == pytest.approx(5.0, abs=0.01)
    b.show_error(err)
    x, y = drawn_dot(b)
    assert y > 4.0 * px_per_mm, f"5 mm anterior drawn {y / px_per_mm:.1f} mm above the centre"
    assert abs(x) < 1.5 * px_per_mm, "anterior must be straight up"

    for side, sign in (("right", +1), ("left", -1)):
        err = guidance_error(target.mri_from_target, coil_moved(target, RAS[side], 5.0))
        b.show_error(err)
        x, _y = drawn_dot(b)
        assert np.sign(err.right_mm) == sign, f"coil moved to the patient's {side}: Right number {err.right_mm:+.1f}"
        assert np.sign(x) == sign and abs(x) > 2.0 * px_per_mm, \
            f"coil moved to the patient's {side} is drawn {'right' if x > 0 else 'left'} of the centre"
    letters = b.letter_directions()
    np.testing.assert_allclose(letters["A"], [0.0, 1.0], atol=1e-9)
    assert letters["R"][0] > 0.3 and letters["L"][0] < -0.3


@pytest.mark.safety(hazard="left-right", control="the handle-up bullseye is the view from outside "
                    "the head: a coil moved to the patient's right on the vertex, handle to the "
                    "back, is drawn on the screen's left (as seen standing behind the patient's "
                    "head looking down, back of the head up)")
def test_handle_up_bullseye_is_seen_from_outside_not_mirrored(qtbot, phantom):
    """On the vertex with the handle to the back, handle up = posterior up: looking down at the
    head from above with the back of the head up, the patient's right is on the screen's LEFT.
    (The first bullseye drew the target's +x = patient right on the right: a mirror image.)"""
    target = target_at(phantom, "vertex")
    b = bullseye_for(qtbot, target, HANDLE_UP)
    err = guidance_error(target.mri_from_target, coil_moved(target, RAS["right"], 5.0))
    assert err.right_mm == pytest.approx(5.0, abs=0.01)
    b.show_error(err)
    x, y = drawn_dot(b)
    assert x < 0 and abs(y) < abs(x) / 4, (x, y)
    err = guidance_error(target.mri_from_target, coil_moved(target, RAS["posterior"], 5.0))
    b.show_error(err)
    x, y = drawn_dot(b)
    assert y > 0 and abs(x) < y / 4, "posterior (where the handle points) must be drawn up"
    assert b.letter_directions()["L"][0] > 0.9     # the letters say so too


@pytest.mark.parametrize("orientation", [ANTERIOR_UP, HANDLE_UP])
@pytest.mark.parametrize("place", list(PLACES))
def test_the_dot_moves_as_a_camera_outside_the_head_sees_the_coil_move(qtbot, phantom, place, orientation):
    """A camera outside the head looks along the target normal (into the head) with the chosen
    direction up; screen right = forward x up. The dot must move as the coil seen by it does,
    for moves in eight directions, with its tick along the coil's handle."""
    target = target_at(phantom, place)
    b = bullseye_for(qtbot, target, orientation)
    forward = target.normal
    if orientation == HANDLE_UP:
        up = target.handle_direction
    else:
        a = RAS["anterior"] - (RAS["anterior"] @ forward) * forward
        up = a / np.linalg.norm(a)
    right = np.cross(forward, up)
    centre = np.array([b.width() / 2, b.height() / 2])
    for angle in np.deg2rad(np.arange(0, 360, 45)):
        move = np.cos(angle) * right + np.sin(angle) * up      # 4 mm along a screen direction
        m = target.mri_from_target.matrix.copy()
        m[:3, 3] += 4.0 * move
        b.show_error(guidance_error(target.mri_from_target, Transform(Frame.MRI, Frame.HOTSPOT, m)))
        dot = b.dot_position()
        seen = np.array([dot.x() - centre[0], centre[1] - dot.y()])
        expect = np.array([np.cos(angle), np.sin(angle)])
        assert seen @ expect / np.linalg.norm(seen) > 0.999, (np.rad2deg(angle), seen)
