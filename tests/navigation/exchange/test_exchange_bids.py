"""A course exported as BIDS: layout, privacy, label rules, electrodes, and events that read back
exactly as the database's pulses."""

from __future__ import annotations

import gzip
import json
import math

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tmsnav.navigation.eeg.bids_electrodes import read_bids_electrodes, write_bids_electrodes
from tmsnav.navigation.exchange.bids import (EVENT_COLUMNS, bids_label, check_bids_names,
                                             export_course_bids, read_events)
from tmsnav.navigation.exchange.errors import ExchangeError
from tmsnav.navigation.records.database import Database
from tmsnav.navigation.records.repository import CourseProtocol, Records
from tmsnav.navigation.sample_head import sample_head_path
from tmsnav.navigation.targeting.targets import Evidence, Target
from tmsnav.navigation.transforms import Frame, Transform
from tmsnav.navigation.treatment.pulse_log import PulseLog

PROTOCOL = CourseProtocol("L-DLPFC", 120.0, "10 Hz", 10.0, 3000, 30)


def _pulses(seed: int, n: int, start: str):
    rng = np.random.default_rng(seed)
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_euler("y", 150, degrees=True).as_matrix()
    pose[:3, 3] = [-38.0, 40.0, 52.0]
    target = Target("L-DLPFC", pose[:3, 3], pose[:3, 2], pose[:3, 1], "manual", Evidence("t", "t"))
    log = PulseLog()
    t0 = np.datetime64(start.replace("+00:00", ""))
    for i in range(n):
        when = str(t0 + np.timedelta64(100 * i, "ms")) + "+00:00"
        if i == 3:
            log.record(i, "magventure", mri_from_hotspot=None, pose_reason="coil not tracked",
                       target=target, output_pct_mso=60.0, wall_time=when)
            continue
        m = pose.copy()
        m[:3, 3] += rng.normal(0, 1.5, 3)
        m[:3, :3] = m[:3, :3] @ Rotation.from_rotvec(rng.normal(0, 0.03, 3)).as_matrix()
        log.record(i, "magventure", mri_from_hotspot=Transform(Frame.MRI, Frame.HOTSPOT, m),
                   target=target, output_pct_mso=60.0 + i % 2, didt_a_per_us=70.5, wall_time=when)
    return log.pulses


@pytest.fixture
def course(tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    records = Records(db)
    records.add_patient("P-007_b", full_name="Jane Example", mrn="MRN-99887")
    info = records.add_course("P-007_b", PROTOCOL, mri_path=str(sample_head_path()))
    folders = []
    for n in (1, 2, 3):
        folder = tmp_path / f"session{n}"
        folder.mkdir()
        folders.append(folder)
        start = f"2026-12-0{n}T09:00:00.000+00:00"
        records.upsert_session(f"s{n}", info.uid, number=n, started_utc=start, folder=folder)
        records.add_pulses(f"s{n}", _pulses(n, 6, f"2026-12-0{n}T09:00:05.000+00:00"))
    electrodes = {"C3": np.array([-50.0, -10.0, 70.0]), "Cz": np.array([0.0, -10.0, 95.0])}
    write_bids_electrodes(folders[1] / "eeg" / "sub-01_space-Other", electrodes,
                          placement={"C3": "digitised", "Cz": "interpolated"})
    yield records, info, tmp_path
    db.close()


def test_export_layout_privacy_and_events_round_trip(course):
    records, info, tmp_path = course
    notes: list[str] = []
    root = export_course_bids(records, info.uid, tmp_path / "bids", notes=notes)
    sub = root / "sub-P007b"
    assert (root / "dataset_description.json").is_file()
    assert json.loads((root / "dataset_description.json").read_text())["BIDSVersion"]
    participants = (root / "participants.tsv").read_text()
    assert participants == "participant_id\ttmsnav_pseudonym\nsub-P007b\tP-007_b\n"
    everything = "".join(p.read_text(errors="ignore") for p in root.rglob("*") if p.is_file()
                         and not p.name.endswith(".gz"))
    assert "Jane" not in everything and "MRN-99887" not in everything
    assert any("sub-P007b" in n for n in notes)                    # the sanitising is said
    t1 = sub / "ses-01" / "anat" / "sub-P007b_ses-01_T1w.nii.gz"
    assert t1.read_bytes() == sample_head_path().read_bytes()
    assert not (sub / "ses-02" / "anat").exists()                  # the T1 is stored once
    eeg = sub / "ses-02" / "eeg"
    assert sorted(p.name for p in eeg.iterdir()) == [
        "sub-P007b_ses-02_space-Other_coordsystem.json", "sub-P007b_ses-02_space-Other_electrodes.json",
        "sub-P007b_ses-02_space-Other_electrodes.tsv"]
    assert json.loads((eeg / "sub-P007b_ses-02_space-Other_coordsystem.json").read_text())[
        "IntendedFor"] == "bids::sub-P007b/ses-01/anat/sub-P007b_ses-01_T1w.nii.gz"
    assert check_bids_names(root) == []
    sessions_tsv = (sub / "sub-P007b_sessions.tsv").read_text().splitlines()
    assert sessions_tsv[0] == "session_id\tacq_time\tsession_number\tstatus\tpulses"
    assert sessions_tsv[1].split("\t")[:3] == ["ses-01", "2026-12-01T09:00:00Z", "1"]
    for n in (1, 2, 3):
        events = sub / f"ses-0{n}" / "beh" / f"sub-P007b_ses-0{n}_task-tms_events.tsv"
        assert events.read_text().splitlines()[0].split("\t") == EVENT_COLUMNS
        rows = read_events(events)
        pulses = records.pulses(f"s{n}")
        assert len(rows) == len(pulses) == 6
        for row, p in zip(rows, pulses):
            assert row["trial_type"] == "tms_pulse" and row["duration"] == 0.0
            assert row["onset"] == pytest.approx(5.0 + 0.1 * (p.index - 1))
            assert row["pulse_index"] == p.index and row["output_pct_mso"] == p.output_pct_mso
            assert row["didt_a_per_us"] == p.didt_a_per_us and row["target"] == p.target_name
            assert row["wall_time_utc"] == p.wall_time_iso and row["source"] == p.source
            if p.mri_from_hotspot is None:
                assert row["x_mm"] is None and row["pose_unknown_reason"] == "coil not tracked"
                assert row["within_tolerance"] is None
            else:
                m = p.mri_from_hotspot.matrix
                assert [row["x_mm"], row["y_mm"], row["z_mm"]] == m[:3, 3].tolist()
                assert [row["normal_x"], row["normal_y"], row["normal_z"]] == m[:3, 2].tolist()
                assert [row["handle_x"], row["handle_y"], row["handle_z"]] == m[:3, 1].tolist()
                assert row["position_error_mm"] == p.position_error_mm
                assert row["angle_error_deg"] == pytest.approx(math.degrees(p.angle_error_rad))
                assert row["within_tolerance"] == p.within_tolerance
        sidecar = json.loads(events.with_suffix(".json").read_text())
        assert sidecar["x_mm"]["Units"] == "mm" and sidecar["angle_error_deg"]["Units"] == "deg"
        assert sidecar["OnsetZeroUTC"] == f"2026-12-0{n}T09:00:00+00:00"
    back = read_bids_electrodes(eeg / "sub-P007b_ses-02_space-Other_electrodes.tsv")
    np.testing.assert_array_equal(back.positions_mm["C3"], [-50.0, -10.0, 70.0])
    assert back.placement == {"C3": "digitised", "Cz": "interpolated"}
    assert not list(tmp_path.glob(".bids.*")), "no partial folder left behind"


def test_export_refuses_a_non_empty_folder_and_leaves_it(course):
    records, info, tmp_path = course
    out = tmp_path / "bids"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExchangeError, match="not empty"):
        export_course_bids(records, info.uid, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_export_without_mri_file_and_uncompressed_nii(course, tmp_path):
    records, info, _ = course
    records.update_course(info.uid, mri_path=str(tmp_path / "gone.nii.gz"))
    notes: list[str] = []
    root = export_course_bids(records, info.uid, tmp_path / "b1", notes=notes)
    assert not list(root.rglob("*_T1w.nii.gz")) and any("not found" in n for n in notes)
    plain = tmp_path / "t1.nii"
    nib.save(nib.Nifti1Image(np.arange(1000, dtype=np.int16).reshape(10, 10, 10), np.eye(4)),
             plain)
    records.update_course(info.uid, mri_path=str(plain))
    root = export_course_bids(records, info.uid, tmp_path / "b2")
    (t1,) = root.rglob("*_T1w.nii.gz")
    assert gzip.decompress(t1.read_bytes()) == plain.read_bytes()


def test_labels_and_name_checker():
    assert bids_label("P-007_b") == "P007b"
    with pytest.raises(ExchangeError, match="no letter or digit"):
        bids_label("-_-")


def test_name_checker_catches_bad_names(tmp_path):
    bad = tmp_path / "sub-P_1" / "ses-01" / "beh" / "sub-P_1_ses-01_task-tms_events.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("onset\n")
    other = tmp_path / "sub-P1" / "ses-01" / "beh" / "events.tsv"
    other.parent.mkdir(parents=True)
    other.write_text("onset\n")
    problems = check_bids_names(tmp_path)
    assert any("not alphanumeric" in p for p in problems)
    assert any("does not start with sub-P1_" in p for p in problems)


def test_cancel_leaves_nothing_and_progress_is_reported(course):
    from tmsnav.navigation.errors import Cancelled
    from tmsnav.navigation.progress import CancelToken

    records, info, tmp_path = course
    token = CancelToken()
    seen: list[tuple[float, str]] = []

    def progress(fraction: float, message: str) -> None:
        seen.append((fraction, message))
        if message == "session 2":
            token.cancel()

    with pytest.raises(Cancelled):
        export_course_bids(records, info.uid, tmp_path / "bids", progress=progress, cancel=token)
    assert not (tmp_path / "bids").exists()
    assert not list(tmp_path.glob(".bids.*")), "the partial folder is removed"
    assert [m for _, m in seen] == ["session 1", "session 2"]


def test_disk_full_during_export_leaves_nothing(course, monkeypatch):
    records, info, tmp_path = course
    import tmsnav.navigation.exchange.bids as bids_module

    real = bids_module._write_json

    def full(path, data):
        if path.name == "dataset_description.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(bids_module, "_write_json", full)
    with pytest.raises(ExchangeError, match="No space left on device"):
        export_course_bids(records, info.uid, tmp_path / "bids")
    assert not (tmp_path / "bids").exists() and not list(tmp_path.glob(".bids.*"))
