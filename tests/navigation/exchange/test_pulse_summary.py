"""Import pulses, the non-GUI half: which files are read, where their pulses are, how far from
the target, and the mistakes that must be refused or warned (a targets-only file, a file without
any tracked pulse, other units, LPS, pulses of another head or in metres)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tmsnav.navigation.exchange.brainsight import write_brainsight
from tmsnav.navigation.exchange.errors import ExchangeError
from tmsnav.navigation.exchange.localite import write_trigger_markers
from tmsnav.navigation.exchange.pulse_summary import (OFF_HEAD_MM, legend_line, off_head_warning,
                                                      read_pulse_file, scalp_distances, summarize)
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog

SAMPLES = Path(__file__).parent / "samples"
KNOWN_POS = np.array([-45.0, -12.0, 78.0])          # the hand-written samples' left-M1 pose


def _pose(point: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """A coil pose at ``point``: +z into the head, handle (+y) roughly backwards."""
    z = -outward / np.linalg.norm(outward)
    y = np.array([0.0, -1.0, 0.0]) + z[1] * z             # minus its component along z
    y /= np.linalg.norm(y)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = np.cross(y, z), y, z, point
    return m


def _left_pulses(n: int = 40, untracked: int = 3, seed: int = 1):
    """``n`` pulses on the phantom's LEFT scalp (x < centre - 30 mm), 2 mm above the skin, around
    one target; ``untracked`` of them without a pose. Returns (targets, pulses, phantom)."""
    phantom = make_phantom_head()
    rng = np.random.default_rng(seed)
    pts, nrm = phantom.sample_scalp_points(4000, rng)
    left = pts[:, 0] < phantom.scalp_centre_mm[0] - 30.0
    pts, nrm = pts[left], nrm[left]
    centre = pts[0]
    near = np.argsort(np.linalg.norm(pts - centre, axis=1))[:n]
    m = _pose(centre, nrm[0])
    target = Target(name="L-DLPFC", scalp_point_mm=m[:3, 3], normal=m[:3, 2],
                    handle_direction=m[:3, 1], source="manual", evidence=Evidence("test", "test"))
    log = PulseLog()
    for i, k in enumerate(near):
        pose = None if i < untracked else Transform(Frame.MRI, Frame.HOTSPOT,
                                                    _pose(pts[k] + 2.0 * nrm[k], nrm[k]))
        log.record(i, "ttl", mri_from_hotspot=pose, pose_reason="coil not tracked", target=target,
                   output_pct_mso=55.0, wall_time=f"2026-12-05T09:00:{i % 60:02d}.000+00:00")
    return TargetSet([target]), log.pulses, phantom


# ----- reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["brainsight", "localite"])
def test_written_files_read_back_on_the_left_with_counts_and_distances(tmp_path, fmt):
    targets, pulses, _ = _left_pulses()
    if fmt == "brainsight":
        path = write_brainsight(tmp_path / "bs.txt", targets, pulses)
    else:
        path = write_trigger_markers(tmp_path / "TriggerMarkers_Coil1.xml", pulses)
    f = read_pulse_file(path)
    assert f.format == {"brainsight": "brainsight", "localite": "localite-trigger"}[fmt]
    assert f.source_name == {"brainsight": "Brainsight", "localite": "Localite"}[fmt]
    assert len(f.samples) == 40
    target = targets.active
    s = summarize(f.samples, target.scalp_point_mm, target.name)
    assert (s.n_samples, s.n_with_pose, s.n_without_pose) == (40, 37, 3)
    assert (s.positions[:, 0] < 0).all(), "left-hemisphere pulses must stay at negative x (left)"
    expected = [p.mri_from_hotspot.matrix[:3, 3] for p in pulses if p.mri_from_hotspot is not None]
    np.testing.assert_allclose(s.positions, expected, atol=1e-9)      # mm stays mm, same order
    d = np.linalg.norm(np.asarray(expected) - target.scalp_point_mm, axis=1)
    assert s.median_mm == pytest.approx(float(np.median(d)))
    assert s.p95_mm == pytest.approx(float(np.percentile(d, 95)))
    assert s.median_mm < s.p95_mm < 20.0
    assert s.per_target == {"L-DLPFC": 37}
    assert s.target_name == "L-DLPFC"


def test_hand_written_brainsight_export_samples():
    f = read_pulse_file(SAMPLES / "brainsight_left_m1_crlf_bom.txt")
    assert f.coordinate_system == "NIfTI:Aligned"
    s = summarize(f.samples, KNOWN_POS, "Left M1")
    assert (s.n_samples, s.n_with_pose) == (3, 2)                       # sample 2: coil not visible
    np.testing.assert_allclose(s.positions, [KNOWN_POS, KNOWN_POS + [1.0, 0, 0]])
    assert s.median_mm == pytest.approx(0.5) and s.per_target == {"Left M1": 2}
    assert legend_line(s, f.source_name, str(f.path)) == (
        "Imported: 2 pulses from Brainsight (brainsight_left_m1_crlf_bom.txt), median 0.5 mm "
        "from Left M1")


def test_hand_written_localite_trigger_markers():
    f = read_pulse_file(SAMPLES / "localite_trigger_two_pulses.xml")
    assert (f.format, f.coordinate_system, f.notes) == ("localite-trigger", "RAS", [])
    s = summarize(f.samples)
    assert (s.n_samples, s.n_with_pose) == (2, 1)                       # identity = untracked
    np.testing.assert_allclose(s.positions, [KNOWN_POS])
    assert s.median_mm is None and s.per_target == {}                   # no description, no target
    assert legend_line(s, "Localite", "x.xml").endswith("(x.xml), no active target")


@pytest.mark.safety(hazard="left-right",
                    control="an imported Localite LPS pulse file whose +x is the patient's left lands at "
                    "negative RAS x")
def test_localite_lps_file_keeps_left_on_the_left(tmp_path):
    """An LPS file's +x is the patient's LEFT: a pulse at LPS x = +45 must be drawn at RAS x = -45."""
    _, pulses, _ = _left_pulses(n=5, untracked=0)
    tree = ET.parse(write_trigger_markers(tmp_path / "ras.xml", pulses))
    root = tree.getroot()
    root.set("coordinateSpace", "LPS")
    for m in root.iter("Matrix4D"):                 # LPS = diag(-1, -1, 1) @ RAS: rows 0, 1 negated
        for r in (0, 1):
            for c in range(4):
                m.set(f"data{r}{c}", repr(-float(m.get(f"data{r}{c}"))))
    tree.write(tmp_path / "lps.xml", encoding="utf-8", xml_declaration=True)
    assert all(float(m.get("data03")) > 0 for m in root.iter("Matrix4D"))   # the file says +x
    f = read_pulse_file(tmp_path / "lps.xml")
    assert f.coordinate_system == "LPS" and "converted to RAS" in f.notes[0]
    s = summarize(f.samples)
    assert (s.positions[:, 0] < 0).all()
    np.testing.assert_allclose(s.positions, [p.mri_from_hotspot.matrix[:3, 3] for p in pulses],
                               atol=1e-9)


# ----- refusals ---------------------------------------------------------------------------------
def test_files_without_pulses_are_refused_naming_what_they_are(tmp_path):
    targets, _, _ = _left_pulses(n=2, untracked=0)
    only_targets = write_brainsight(tmp_path / "plan.txt", targets)
    with pytest.raises(ExchangeError, match="targets but no samples.*Import targets"):
        read_pulse_file(only_targets)
    with pytest.raises(ExchangeError, match="InstrumentMarker file: it holds targets"):
        read_pulse_file(SAMPLES / "localite_instrument_left_m1.xml")
    scipy.io.savemat(tmp_path / "coil.mat", {"matsimnibs": np.eye(4)})
    with pytest.raises(ExchangeError, match="SimNIBS coil position file.*not recorded pulses"):
        read_pulse_file(tmp_path / "coil.mat")
    (tmp_path / "pulses.csv").write_text("index,x,y,z\n1,-40,20,60\n")
    with pytest.raises(ExchangeError, match="comma-separated table with the columns index, x"):
        read_pulse_file(tmp_path / "pulses.csv")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ExchangeError, match="an empty file"):
        read_pulse_file(tmp_path / "empty.txt")
    with pytest.raises(ExchangeError, match="does not exist"):
        read_pulse_file(tmp_path / "gone.txt")


def test_a_file_whose_pulses_were_all_untracked_is_refused(tmp_path):
    targets, pulses, _ = _left_pulses(n=4, untracked=4)
    with pytest.raises(ExchangeError, match="none of the 4 pulses .* known coil position"):
        read_pulse_file(write_brainsight(tmp_path / "bs.txt", targets, pulses))
    with pytest.raises(ExchangeError, match="none of the 4 pulses"):
        read_pulse_file(write_trigger_markers(tmp_path / "t.xml", pulses))
    empty = tmp_path / "none.xml"
    empty.write_text('<?xml version="1.0"?>\n<TriggerMarkerList coordinateSpace="RAS">'
                     "</TriggerMarkerList>\n")
    with pytest.raises(ExchangeError, match="holds no recorded pulse"):
        read_pulse_file(empty)


@pytest.mark.parametrize("units", ["metres, degrees, milliseconds, and microvolts",
                                   "centimetres, degrees", "millimetres, radians"])
@pytest.mark.safety(hazard="units",
                    control="imported pulse files in metres, cm or other angle units are refused, never "
                    "rescaled")
def test_other_units_are_refused_not_scaled(tmp_path, units):
    targets, pulses, _ = _left_pulses(n=3, untracked=0)
    text = write_brainsight(tmp_path / "mm.txt", targets, pulses).read_text()
    assert "# Units: millimetres, degrees" in text
    bad = tmp_path / "other.txt"
    bad.write_text(text.replace("# Units: millimetres, degrees, milliseconds, and microvolts",
                                f"# Units: {units}"))
    with pytest.raises(ExchangeError, match="units .*millimetres and degrees only"):
        read_pulse_file(bad)


# ----- on this head or not ----------------------------------------------------------------------
@pytest.mark.safety(hazard="units",
                    control="imported pulses far from this head's scalp (another head, metres read as mm) are"
                    " warned before drawing")
def test_pulses_on_the_head_pass_and_another_head_or_metres_are_warned(tmp_path):
    targets, pulses, phantom = _left_pulses(n=60, untracked=0)
    vertices, _ = phantom.sample_scalp_points(20000, 5, region="all")   # a dense "scalp mesh"
    s = summarize(read_pulse_file(write_brainsight(tmp_path / "bs.txt", targets, pulses)).samples)
    on = scalp_distances(s.positions, vertices)
    assert np.median(on) == pytest.approx(2.0, abs=1.0)                 # 2 mm above the skin
    assert off_head_warning(on, "bs.txt") is None
    shifted = s.positions + np.array([0.0, 0.0, 45.0])                 # another head's coordinates
    why = off_head_warning(scalp_distances(shifted, vertices), "bs.txt")
    assert why is not None and "another patient or another image" in why and "bs.txt" in why
    metres = s.positions / 1000.0                                       # a unit mix-up
    why = off_head_warning(scalp_distances(metres, vertices), "bs.txt")
    assert why is not None and "unit" in why
    assert float(np.median(scalp_distances(metres, vertices))) > 4 * OFF_HEAD_MM     # ~70 mm: the head centre
    assert off_head_warning(np.zeros(0), "x") is None
    assert scalp_distances(s.positions, np.zeros((0, 3))).shape == (60,)


def test_summary_without_target_or_pose():
    s = summarize([])
    assert (s.n_samples, s.n_with_pose, s.median_mm, s.positions.shape) == (0, 0, None, (0, 3))
    assert legend_line(s, "Brainsight", "/some/folder/f.txt") == (
        "Imported: 0 pulses from Brainsight (f.txt), no active target")
