"""Brainsight / Localite / SimNIBS: round trips, hand-written samples with a known coil pose, the
quirks of files from other tools, and the mistakes that must be refused (flips, units, spaces)."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import scipy.io
from scipy.spatial.transform import Rotation

from tmsnav.navigation.exchange.brainsight import (coordinate_system_for, read_brainsight,
                                                   space_mismatch, write_brainsight)
from tmsnav.navigation.exchange.errors import ExchangeError
from tmsnav.navigation.exchange.localite import (read_instrument_markers, read_trigger_markers,
                                                 write_instrument_markers, write_trigger_markers)
from tmsnav.navigation.exchange.poses import AXES, from_vendor, to_vendor
from tmsnav.navigation.exchange.simnibs import read_matsimnibs, write_matsimnibs
from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet
from tmsnav.navigation.transforms import Frame, Transform, orthonormalize
from tmsnav.navigation.treatment.pulse_log import PulseLog

SAMPLES = Path(__file__).parent / "samples"
# The pose written by hand into the samples: coil over the LEFT hemisphere (x = -45 mm), normal
# into the head (towards the right and down), handle pointing BACK, left and down.
KNOWN_POS = np.array([-45.0, -12.0, 78.0])
KNOWN_NORMAL = np.array([0.5044, 0.1009, -0.8575])
KNOWN_HANDLE = np.array([-0.5435, -0.7346, -0.4061])


def _target(name: str, pose: np.ndarray) -> Target:
    return Target(name=name, scalp_point_mm=pose[:3, 3], normal=pose[:3, 2],
                  handle_direction=pose[:3, 1], source="manual", evidence=Evidence("test", "test"))


def _random_targets(n: int, seed: int) -> TargetSet:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = np.eye(4)
        m[:3, :3] = Rotation.random(random_state=rng).as_matrix()
        m[:3, 3] = rng.uniform(-90, 90, 3)           # every octant: left/right, front/back, up/down
        out.append(_target(f"T{i} é/ä", m))
    return TargetSet(out)


def _assert_known_pose(t: Target, tol: float = 2e-3) -> None:
    assert t.scalp_point_mm[0] < 0, "left hemisphere target imported on the right"
    assert t.handle_direction[1] < 0 and t.handle_direction[0] < 0, "handle must point back-left"
    assert t.normal[2] < 0 and t.normal[0] > 0, "normal must point into the head"
    np.testing.assert_allclose(t.scalp_point_mm, KNOWN_POS, atol=1e-6)
    np.testing.assert_allclose(t.normal, KNOWN_NORMAL, atol=tol)
    np.testing.assert_allclose(t.handle_direction, KNOWN_HANDLE, atol=tol)


# ----- axes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("tool", sorted(AXES))
def test_axis_conventions_are_proper_rotations_and_invert(tool):
    p = AXES[tool]
    assert np.linalg.det(p[:3, :3]) == pytest.approx(1.0)
    m = _random_targets(1, 3).active.mri_from_target.matrix
    np.testing.assert_allclose(from_vendor(to_vendor(m, tool), tool), m, atol=1e-15)


def test_vendor_axes_mean_what_the_vendors_say():
    m = _target("k", np.eye(4)).mri_from_target.matrix
    ours_normal = m[:3, 2]
    assert to_vendor(m, "brainsight")[:3, 2] @ ours_normal == -1.0     # Brainsight z: out of head
    assert to_vendor(m, "brainsight")[:3, 1] @ m[:3, 1] == 1.0         # same handle axis
    assert to_vendor(m, "localite")[:3, 0] @ ours_normal == 1.0        # Localite x: into the head
    assert to_vendor(m, "localite")[:3, 1] @ m[:3, 1] == -1.0          # Localite y: away from handle
    np.testing.assert_array_equal(to_vendor(m, "simnibs"), m)


# ----- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("write,read,suffix", [
    (write_brainsight, read_brainsight, ".txt"),
    (write_instrument_markers, read_instrument_markers, ".xml"),
    (write_matsimnibs, read_matsimnibs, ".mat")])
def test_targets_round_trip_exactly(tmp_path, write, read, suffix):
    targets = _random_targets(40, 1)
    path = write(tmp_path / f"targets{suffix}", targets)
    back = read(path)
    assert back.names == targets.names
    for t in targets:
        np.testing.assert_allclose(back.targets[t.name].mri_from_target.matrix,
                                   t.mri_from_target.matrix, atol=1e-12, rtol=0)
        assert back.targets[t.name].source == "imported"
        assert path.name in back.targets[t.name].evidence.citation
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def _pulses():
    pose_target = _random_targets(1, 7).active
    log = PulseLog()
    on = pose_target.mri_from_target.matrix.copy()
    off = on.copy()
    off[:3, :3] = off[:3, :3] @ Rotation.from_euler("xz", [4, -6], degrees=True).as_matrix()
    off[:3, 3] += off[:3, :3] @ np.array([1.5, -2.0, 0.7])
    times = ["2026-12-05T09:00:00.000+00:00", "2026-12-05T09:00:02.250+00:00",
             "2026-12-05T09:00:04.500+00:00"]
    log.record(1, "ttl", mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, on),
               target=pose_target, output_pct_mso=55.0, didt_a_per_us=61.0, wall_time=times[0])
    log.record(2, "ttl", mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, off),
               target=pose_target, output_pct_mso=56.0, didt_a_per_us=62.5, wall_time=times[1])
    log.record(3, "ttl", mri_from_hotspot=None, pose_reason="coil not tracked",
               target=pose_target, output_pct_mso=56.0, wall_time=times[2])
    return TargetSet([pose_target]), log.pulses


def test_pulses_round_trip_through_brainsight_samples(tmp_path):
    targets, pulses = _pulses()
    data = read_brainsight(write_brainsight(tmp_path / "s.txt", targets, pulses))
    assert len(data.samples) == len(pulses)
    for p, s in zip(pulses, data.samples):
        assert s.index == p.index and s.target_name == p.target_name
        assert s.output_pct_mso == p.output_pct_mso and s.source == p.source
        assert s.time_iso == p.wall_time_iso
        for a, b in ((s.position_error_mm, p.position_error_mm),
                     (s.angle_error_rad, p.angle_error_rad),
                     (s.twist_error_rad, p.twist_error_rad)):
            assert (a is None and b is None) or a == pytest.approx(b, abs=1e-12)
        if p.mri_from_hotspot is None:
            assert s.mri_from_hotspot is None and s.comment == "coil not tracked"
        else:
            np.testing.assert_allclose(s.mri_from_hotspot, p.mri_from_hotspot.matrix, atol=1e-12)
    assert data.samples[1].position_error_mm > 1.0           # the off-target pulse kept its error


def test_pulses_round_trip_through_localite_trigger_markers(tmp_path):
    _, pulses = _pulses()
    samples = read_trigger_markers(write_trigger_markers(tmp_path / "TriggerMarkers_Coil1.xml",
                                                         pulses))
    assert [s.index for s in samples] == [p.index for p in pulses]
    assert [s.recording_time_ms for s in samples] == [0.0, 2250.0, 4500.0]
    for p, s in zip(pulses, samples):
        assert s.output_pct_mso == p.output_pct_mso and s.didt_a_per_us == p.didt_a_per_us
        assert s.target_name == p.target_name
        if p.mri_from_hotspot is None:
            assert s.mri_from_hotspot is None
        else:
            np.testing.assert_allclose(s.mri_from_hotspot, p.mri_from_hotspot.matrix, atol=1e-12)


# ----- hand-written samples (from the vendors' published descriptions) ---------------------------
def test_brainsight_sample_crlf_bom_reordered_columns_and_nulls():
    data = read_brainsight(SAMPLES / "brainsight_left_m1_crlf_bom.txt")
    assert data.names == ["Left M1"]                              # "Unplaced" (all null) skipped
    assert any("Unplaced" in n for n in data.notes)
    _assert_known_pose(data.targets["Left M1"])
    s1, s2, s3 = data.samples
    assert (s1.index, s1.target_name, s1.output_pct_mso, s1.source) == (1, "Left M1", 55.0,
                                                                         "TTL trigger")
    assert s1.time_iso == "2024-03-01T10:15:02.250"              # local time, no zone invented
    np.testing.assert_allclose(s1.mri_from_hotspot[:3, 3], KNOWN_POS)
    assert s2.mri_from_hotspot is None and s2.comment == "coil not visible"
    assert s3.mri_from_hotspot[0, 3] == pytest.approx(-44.0)
    assert s3.angle_error_rad == pytest.approx(math.radians(2.5))
    assert s3.twist_error_rad == pytest.approx(math.radians(-4.0))
    assert s3.position_error_mm == pytest.approx(0.84)


def test_localite_instrument_sample_known_pose_duplicates_and_unset():
    data = read_instrument_markers(SAMPLES / "localite_instrument_left_m1.xml")
    assert data.names == ["Left M1", "Left M1 (2)"]
    _assert_known_pose(data.targets["Left M1"])
    assert data.targets["Left M1"].notes == "hotspot FDI"
    assert data.targets["Left M1 (2)"].scalp_point_mm[2] == pytest.approx(79.0)
    assert any("not placed" in n and "skipped" in n for n in data.notes)


def test_localite_trigger_sample_untracked_pulse_is_pose_unknown():
    s1, s2 = read_trigger_markers(SAMPLES / "localite_trigger_two_pulses.xml")
    assert (s1.output_pct_mso, s1.didt_a_per_us, s1.response_uv) == (55.0, 62.0, 812.5)
    np.testing.assert_allclose(s1.mri_from_hotspot[:3, 3], KNOWN_POS)
    np.testing.assert_allclose(s1.mri_from_hotspot[:3, 2], KNOWN_NORMAL, atol=2e-3)
    np.testing.assert_allclose(s1.mri_from_hotspot[:3, 1], KNOWN_HANDLE, atol=2e-3)
    assert s2.mri_from_hotspot is None and "not tracked" in s2.comment
    assert s2.didt_a_per_us is None and s2.response_uv is None


def test_simnibs_documentation_example_and_stacks(tmp_path):
    # SimNIBS' POSITION documentation: coil at (-1.2, -15.8, 120), "pointing anteriorly and
    # facing downwards": y = +anterior (the handle), z = -superior (into the head).
    doc = [[-1, 0, 0, -1.2], [0, 1, 0, -15.8], [0, 0, -1, 120.0], [0, 0, 0, 1]]
    left = np.eye(4)                                                   # the known left pose
    left[:3, :3] = orthonormalize(np.column_stack([np.cross(KNOWN_HANDLE, KNOWN_NORMAL),
                                                   KNOWN_HANDLE, KNOWN_NORMAL]))
    left[:3, 3] = KNOWN_POS
    scipy.io.savemat(tmp_path / "doc.mat", {"matsimnibs": np.asarray(doc, float)})
    t = read_matsimnibs(tmp_path / "doc.mat").targets["SimNIBS position 1"]
    np.testing.assert_allclose(t.handle_direction, [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(t.normal, [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(t.scalp_point_mm, [-1.2, -15.8, 120.0])
    stack = np.stack([np.asarray(doc, float), left], axis=2)           # SimNIBS' (4, 4, N)
    scipy.io.savemat(tmp_path / "stack.mat", {"matsimnibs": stack})
    data = read_matsimnibs(tmp_path / "stack.mat")
    assert len(data) == 2
    _assert_known_pose(data.targets["SimNIBS position 2"])
    pos = np.zeros((1, 2), dtype=[("name", object), ("matsimnibs", object), ("distance", object),
                                  ("centre", object)])
    pos[0, 0] = ("hotspot", left, 4.0, np.zeros(0))
    pos[0, 1] = ("by electrode", np.zeros((0, 0)), 4.0, "C3")
    scipy.io.savemat(tmp_path / "session.mat", {"poslist": np.array(
        [{"type": "TMSLIST", "pos": pos}], dtype=object)})
    data = read_matsimnibs(tmp_path / "session.mat")
    assert data.names == ["hotspot"]
    assert "4 mm above the scalp" in data.targets["hotspot"].notes
    assert any("centre/pos_ydir" in n for n in data.notes)


# ----- mistakes that must be refused -------------------------------------------------------------
def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = (SAMPLES / "brainsight_left_m1_crlf_bom.txt").read_bytes().decode("utf-8-sig")
    assert old in text
    out = tmp_path / "edited.txt"
    out.write_text(text.replace(old, new), encoding="utf-8")
    return out


def test_brainsight_world_lps_is_converted_to_the_same_pose(tmp_path):
    lps_row = ("Left M1\t45.0000\t12.0000\t78.0000\t0.6709\t-0.6709\t-0.3157\t0.5435\t0.7346\t"
               "-0.4061\t0.5044\t0.1009\t0.8575")
    text = (SAMPLES / "brainsight_left_m1_crlf_bom.txt").read_bytes().decode("utf-8-sig")
    row = next(ln for ln in text.splitlines() if ln.startswith("Left M1\t"))
    path = tmp_path / "world.txt"
    path.write_text(text.replace("NIfTI:Aligned", "World").replace(row, lps_row), "utf-8")
    data = read_brainsight(path)
    _assert_known_pose(data.targets["Left M1"])
    assert any("LPS" in n for n in data.notes)


def test_brainsight_mirrored_axes_are_refused(tmp_path):
    # One axis sign flipped (x column negated): a mirrored coil, the classic L/R slip.
    path = _edited(tmp_path, "-45.0000\t-12.0000\t78.0000\t-0.6709\t0.6709\t-0.3157\t",
                   "-45.0000\t-12.0000\t78.0000\t0.6709\t-0.6709\t0.3157\t")
    with pytest.raises(ExchangeError, match="mirrored"):
        read_brainsight(path)


@pytest.mark.parametrize("space,words", [("Brainsight", "internal frame"),
                                         ("Talairach-ish", "does not know"),
                                         ("NIfTI:Other", "does not know")])
def test_brainsight_other_coordinate_systems_are_refused(tmp_path, space, words):
    with pytest.raises(ExchangeError, match=words):
        read_brainsight(_edited(tmp_path, "NIfTI:Aligned", space))


@pytest.mark.parametrize("space", ["NIfTI:Scanner", "NIfTI:S:Aligned", "NIfTI:Q:Scanner",
                                   "NIfTI:MNI-152", "nifti:talairach"])
def test_brainsight_nifti_spaces_are_the_images_own_coordinates(tmp_path, space):
    _assert_known_pose(read_brainsight(_edited(tmp_path, "NIfTI:Aligned", space)).targets["Left M1"])


def _t1(path: Path, sform_code: int, qform_code: int) -> Path:
    img = nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4))
    img.set_sform(np.eye(4), code=sform_code)
    img.set_qform(np.eye(4), code=qform_code)
    nib.save(img, path)
    return path


def test_coordinate_system_for_and_space_mismatch(tmp_path):
    scanner = _t1(tmp_path / "scanner.nii.gz", 1, 1)
    aligned = _t1(tmp_path / "aligned.nii.gz", 2, 1)
    assert coordinate_system_for(scanner, "sform") == "NIfTI:Scanner"
    assert coordinate_system_for(aligned, "sform") == "NIfTI:Aligned"
    assert coordinate_system_for(aligned, "qform") == "NIfTI:Scanner"
    assert coordinate_system_for(None, "sform") == coordinate_system_for(aligned, "dicom") == \
        "NIfTI:Scanner"
    assert space_mismatch("NIfTI:Aligned", aligned, "sform") is None
    assert space_mismatch("NIfTI:S:Aligned", aligned, "sform") is None
    assert "NIfTI:Scanner" in space_mismatch("NIfTI:Scanner", aligned, "sform")
    assert "uses the qform" in space_mismatch("NIfTI:Q:Aligned", aligned, "sform")
    assert space_mismatch("World", aligned, "sform") is None        # LPS, converted: no form
    assert space_mismatch("NIfTI:Aligned", None, "sform") is None   # nothing to compare with


def test_brainsight_units_other_than_mm_are_refused(tmp_path):
    with pytest.raises(ExchangeError, match="millimetres"):
        read_brainsight(_edited(tmp_path, "# Units: millimetres,", "# Units: metres,"))
    with pytest.raises(ExchangeError, match="millimetres and degrees"):
        read_brainsight(_edited(tmp_path, "millimetres, degrees,", "millimetres, radians,"))
    data = read_brainsight(_edited(tmp_path, "# Units: millimetres, degrees, milliseconds, and "
                                             "microvolts", "# Comment: no units line"))
    assert any("assumed" in n for n in data.notes)


def test_brainsight_partial_pose_and_bad_numbers_are_refused(tmp_path):
    with pytest.raises(ExchangeError, match="part of the pose"):
        read_brainsight(_edited(tmp_path, "78.0000\t-0.6709\t0.6709\t-0.3157\t-0.5435",
                                "78.0000\t(null)\t0.6709\t-0.3157\t-0.5435"))
    with pytest.raises(ExchangeError, match="not a number"):
        read_brainsight(_edited(tmp_path, "-45.0000\t-12.0000\t78.0000\t-0.6709",
                                "-45,0000\t-12.0000\t78.0000\t-0.6709"))
    with pytest.raises(ExchangeError, match="not orthonormal"):
        read_brainsight(_edited(tmp_path, "-0.5435\t-0.7346\t-0.4061\t-0.5044",
                                "-1.0870\t-1.4692\t-0.8122\t-0.5044"))


def test_localite_lps_and_unknown_spaces(tmp_path):
    text = (SAMPLES / "localite_instrument_left_m1.xml").read_text()
    (tmp_path / "none.xml").write_text(text.replace(' coordinateSpace="RAS"', ""))
    with pytest.raises(ExchangeError, match="coordinateSpace"):
        read_instrument_markers(tmp_path / "none.xml")
    (tmp_path / "mni.xml").write_text(text.replace('"RAS"', '"MNI"'))
    with pytest.raises(ExchangeError, match="RAS and LPS only"):
        read_instrument_markers(tmp_path / "mni.xml")
    (tmp_path / "lps.xml").write_text(text.replace('"RAS"', '"LPS"'))
    data = read_instrument_markers(tmp_path / "lps.xml")
    assert data.targets["Left M1"].scalp_point_mm[0] == pytest.approx(45.0)   # flipped, said so
    assert any("LPS" in n for n in data.notes)


def test_localite_damaged_xml(tmp_path):
    text = (SAMPLES / "localite_instrument_left_m1.xml").read_text()
    (tmp_path / "cut.xml").write_text(text[: len(text) // 2])
    with pytest.raises(ExchangeError, match="damaged XML"):
        read_instrument_markers(tmp_path / "cut.xml")


def test_writer_refuses_a_missing_folder(tmp_path):
    with pytest.raises(ExchangeError, match="does not exist"):
        write_brainsight(tmp_path / "nope" / "t.txt", _random_targets(1, 0))


def test_disk_full_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    import os

    targets = _random_targets(3, 5)
    path = write_brainsight(tmp_path / "t.txt", targets)
    before = path.read_bytes()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ExchangeError, match="No space left on device"):
        write_brainsight(path, _random_targets(5, 6))
    with pytest.raises(ExchangeError, match="No space left on device"):
        write_instrument_markers(tmp_path / "new.xml", targets)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
