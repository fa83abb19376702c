"""The simulated coil comes from the shipped definition file, and the scripted session performs
the coil verification and the Verify step's scalp touches (issue 10, defect 7 and the README
walk-through)."""

import json

import numpy as np
import pytest

from tmsnav.hardware.simulation.scenario_library import COIL_CHECK_LANDMARKS, make_scenario
from tmsnav.hardware.simulation.scenarios import DEFAULT_COIL_FROM_HOTSPOT
from tmsnav.hardware.simulation.coil import HANDLE_MOUNTED_COIL_FROM_HOTSPOT, SIM_COIL_FILE, load_sim_coil
from tmsnav.hardware.simulation.head import demo_head_geometry


def test_the_default_coil_is_read_from_the_shipped_file():
    raw = json.loads(SIM_COIL_FILE.read_text())
    assert raw["units"] == "mm"
    np.testing.assert_allclose(DEFAULT_COIL_FROM_HOTSPOT, np.array(raw["coil_from_hotspot"]))
    coil = load_sim_coil()
    assert coil.model_id == "generic-fig8-70"
    for name, xyz in raw["landmarks_hotspot_mm"].items():
        np.testing.assert_allclose(coil.landmarks_hotspot_mm[name], xyz)
    # the handle-mounted marker (the old simulator's) is far from the file's nominal mount
    assert np.linalg.norm(HANDLE_MOUNTED_COIL_FROM_HOTSPOT[:3, 3]
                          - DEFAULT_COIL_FROM_HOTSPOT[:3, 3]) > 50


def test_a_coil_file_in_cm_is_converted_and_a_bad_one_refused(tmp_path):
    raw = json.loads(SIM_COIL_FILE.read_text())
    cm = dict(raw, units="cm")
    cm["coil_from_hotspot"] = [row[:3] + [row[3] / 10.0] for row in raw["coil_from_hotspot"][:3]] \
        + [raw["coil_from_hotspot"][3]]
    cm["landmarks_hotspot_mm"] = {k: [v / 10.0 for v in xyz]
                                  for k, xyz in raw["landmarks_hotspot_mm"].items()}
    path = tmp_path / "cm.json"
    path.write_text(json.dumps(cm))
    coil = load_sim_coil(path)
    np.testing.assert_allclose(coil.coil_from_hotspot, DEFAULT_COIL_FROM_HOTSPOT, atol=1e-9)
    np.testing.assert_allclose(coil.landmarks_hotspot_mm["handle_end"],
                               raw["landmarks_hotspot_mm"]["handle_end"], atol=1e-9)
    bad = dict(raw, coil_from_hotspot=[[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="rigid"):
        load_sim_coil(path)
    path.write_text(json.dumps(dict(raw, units="inch")))
    with pytest.raises(ValueError, match="units"):
        load_sim_coil(path)


def test_full_session_verifies_the_coil_and_touches_the_scalp_for_the_verify_step():
    scenario = make_scenario("full_session", n_points=8)
    start = {p: scenario.window(p)[0] for p in (
        "pivoting", "touching coil centre", "touching coil handle end",
        "touching coil left wing edge", "touching nasion", "sweep point 8/8",
        "waiting for the registration", "verify touch 1/2", "verify touch 2/2",
        "coil approaching", "holding on target")}
    assert list(start.values()) == sorted(start.values())
    t0, t1 = scenario.window("pivoting")
    assert t1 - t0 >= 12.0                      # the Pivot step records 10 s
    for phase in ("verify touch 1/2", "verify touch 2/2"):
        a, b = scenario.window(phase)
        assert b - a >= 1.5                     # long enough for a 1 s hold-still capture
    points = scenario.info["verify_points_head"]
    assert np.linalg.norm(points[0] - points[1]) >= 30.0
    fids = scenario.truth.head.landmarks_mm
    assert min(np.linalg.norm(p - f) for p in points for f in fids.values()) > 30.0
    assert set(scenario.info["coil_touched_landmarks_hotspot"]) == set(COIL_CHECK_LANDMARKS)
    # the tip rests on the scalp point during a verify touch (head frame = the MRI frame)
    a, b = scenario.window("verify touch 1/2")
    tip = scenario.tip_pose_at(0.5 * (a + b))
    head_tip = np.linalg.inv(scenario.truth.tracker_from_head) @ tip
    np.testing.assert_allclose(head_tip[:3, 3], points[0], atol=1e-6)


def test_full_session_options_can_leave_the_checks_out():
    plain = make_scenario("full_session", n_points=6, coil_check=0, verify_touches=0)
    phases = {p for p, _, _ in plain.phases()}
    assert not any(p.startswith(("touching coil", "verify touch")) for p in phases)
    with pytest.raises(ValueError, match="no landmark 'nose'"):
        from tmsnav.hardware.simulation.scenario_library import _coil_touch_pose, _Scene  # noqa: F401
        scenario = make_scenario("coil_check")
        scene = type("S", (), {"truth": scenario.truth})()
        _coil_touch_pose(scene, "nose")


def test_the_coil_check_works_on_another_head():
    """The coil lies on the table beside any head: the ellipsoid demo head, resized."""
    head = demo_head_geometry()
    from tmsnav.hardware.simulation.head import HeadGeometry

    big = HeadGeometry(head.scalp_vertices_mm * 1.15, head.scalp_normals,
                       {k: v * 1.15 for k, v in head.landmarks_mm.items()},
                       {k: np.array(v) for k, v in head.targets.items()})
    scenario = make_scenario("coil_check", head=big, calibrate=1)
    names = [p for p, _, _ in scenario.phases() if p.startswith("touching coil")]
    assert len(names) == len(scenario.truth.coil_landmarks_hotspot_mm) + 3
