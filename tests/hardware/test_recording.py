"""Recording and replay: exact round trip, pacing, looping, and clear errors on bad files."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tmsnav.hardware.acquisition.core import Acquisition
from tmsnav.hardware.errors import ConnectionLost
from tmsnav.hardware.frames import ToolStatus
from tmsnav.hardware.acquisition.recording import (RecordingError, ReplayTracker, TrackingRecorder, read_recording)
from tmsnav.hardware.simulation.tracker import NoiseModel, SimulatedTracker


def record(path, n_frames: int = 120, scenario: str = "occlusion", rate_hz: float = 10.0):
    """Record ``n_frames`` device frames of a fast simulated tracker; returns the batches."""
    tracker = SimulatedTracker(scenario, rate_hz=rate_hz, realtime=False, first_frame_number=500,
                               noise=NoiseModel(0.2, dropout_probability=0.05))
    tracker.connect()
    tracker.start()
    batches = []
    with TrackingRecorder.for_tracker(path, tracker, notes="unit test") as recorder:
        for k in range(n_frames):
            frames = tracker.read_frames()
            # host times 100 ms apart, as if read in real time at 10 Hz
            frames = [type(f)(f.tool, f.tracker_from_tool, f.status, f.quality_rms_mm,
                              f.frame_number, f.device_time_s, 7_000_000_000 + k * 100_000_000,
                              f.port_status) for f in frames]
            recorder.write(frames)
            batches.append(frames)
    return batches


def assert_same(a, b):
    assert (a.tool, a.status, a.frame_number, a.quality_rms_mm, a.device_time_s) == \
        (b.tool, b.status, b.frame_number, b.quality_rms_mm, b.device_time_s)
    if a.tracker_from_tool is None:
        assert b.tracker_from_tool is None
    else:
        assert np.array_equal(a.tracker_from_tool, b.tracker_from_tool)  # bit for bit


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "session.tmsrec"
    batches = record(path)
    header, replayed = read_recording(path)
    assert header.tools == ("reference", "pointer", "coil") and header.nominal_rate_hz == 10.0
    assert header.device_kind == "Simulated tracker" and header.notes == "unit test"
    assert len(replayed) == len(batches)
    for original, copy in zip(batches, replayed):
        for a, b in zip(original, copy):
            assert_same(a, b)
    assert [b[0].host_time_ns for b in replayed[:3]] == [0, 100_000_000, 200_000_000]
    statuses = {f.status for batch in replayed for f in batch}
    assert statuses == {ToolStatus.OK, ToolStatus.MISSING}  # occlusions and dropouts kept


def test_every_line_is_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "live.tmsrec"
    tracker = SimulatedTracker("idle", realtime=False)
    tracker.connect()
    tracker.start()
    recorder = TrackingRecorder.for_tracker(path, tracker)
    for _ in range(5):
        recorder.write(tracker.read_frames())
    # Not closed, as after a crash: another reader already sees the header and all 5 frames.
    assert len(read_recording(path)[1]) == 5
    recorder.close()
    recorder.close()
    with pytest.raises(RecordingError, match="already exists"):
        TrackingRecorder(path, device_kind="x", tools=["a"], nominal_rate_hz=60)


def test_fast_replay_gives_the_frames_back_then_ends(tmp_path):
    path = tmp_path / "r.tmsrec"
    batches = record(path, n_frames=30)
    replay = ReplayTracker(path, realtime=False)
    replay.connect()
    assert [t.name for t in replay.tools()] == ["reference", "pointer", "coil"]
    assert replay.nominal_rate_hz == 10.0 and "Simulated tracker" in replay.kind
    replay.start()
    for original in batches:
        for a, b in zip(original, replay.read_frames()):
            assert_same(a, b)
    with pytest.raises(ConnectionLost, match="end of recording r.tmsrec"):
        replay.read_frames()
    replay.close()
    replay.close()


def test_looped_replay_keeps_frame_numbers_increasing(tmp_path):
    path = tmp_path / "loop.tmsrec"
    record(path, n_frames=10)
    replay = ReplayTracker(path, realtime=False, loop=True)
    replay.connect()
    replay.start()
    numbers = [replay.read_frames()[0].frame_number for _ in range(25)]
    assert numbers == list(range(500, 525))


def test_realtime_replay_keeps_the_recorded_spacing(tmp_path):
    path = tmp_path / "rt.tmsrec"
    record(path, n_frames=5)
    clock = {"now": 1_000_000_000}
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        clock["now"] += int(round(s * 1e9))

    replay = ReplayTracker(path, speed=2.0, clock_ns=lambda: clock["now"], sleep=sleep)
    replay.connect()
    replay.start()
    stamps = [replay.read_frames()[0].host_time_ns for _ in range(5)]
    assert np.diff(stamps).tolist() == [50_000_000] * 4  # 100 ms recorded, played at 2x


def test_replay_through_acquisition(tmp_path):
    path = tmp_path / "acq.tmsrec"
    record(path, n_frames=20, scenario="idle")
    acq = Acquisition(lambda: ReplayTracker(path, speed=4.0), reconnect=False)
    acq.start()
    deadline = time.monotonic() + 5
    while acq.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert acq.stats.frames_received == 20 and acq.stats.dropped == 0
    assert acq.state == "disconnected: end of recording acq.tmsrec"
    acq.stop()


def corrupt(path, line_no: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[line_no - 1] = text
    path.write_text("".join(lines))


@pytest.mark.parametrize("bad_line, message", [
    ('{"f": [{"tool": "coil", "s": "ok", "t": 5, "m": [1, 2]}\n', "line 6: corrupt line"),
    ('{"f": [{"tool": "coil", "s": "ok", "t": 5, "m": [1, 2]}]}\n', "line 6: corrupt frame record"),
    ('{"f": [{"tool": "coil", "s": "dancing", "t": 5}]}\n', "line 6: corrupt frame record"),
    ('\x00\x00garbage\n', "line 6: corrupt line"),
])
def test_corrupt_lines_are_named(tmp_path, bad_line, message):
    path = tmp_path / "bad.tmsrec"
    record(path, n_frames=10)
    corrupt(path, 6, bad_line)
    with pytest.raises(RecordingError, match=message):
        read_recording(path)
    replay = ReplayTracker(path, realtime=False)
    replay.connect()
    replay.start()
    for _ in range(4):  # lines 2-5 are fine
        replay.read_frames()
    with pytest.raises(RecordingError, match=message):
        replay.read_frames()


def test_a_recording_cut_off_mid_line_is_reported_as_truncated(tmp_path):
    path = tmp_path / "cut.tmsrec"
    record(path, n_frames=10)
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # the crash hit while line 11 was being written
    with pytest.raises(RecordingError, match="cut.tmsrec line 11: truncated line"):
        read_recording(path)


@pytest.mark.parametrize("header, message", [
    ("", "line 1: empty file"),
    ('{"hello": 1}\n', "line 1: not a tmsnav tracking recording"),
    ("not json at all\n", "line 1: not a tmsnav tracking recording"),
    (json.dumps({"format": "tmsnav-tracking-recording", "version": 9, "device_kind": "x",
                 "tools": ["a"], "nominal_rate_hz": 60}) + "\n", "version 9 is newer"),
    (json.dumps({"format": "tmsnav-tracking-recording", "version": 1, "device_kind": "x",
                 "nominal_rate_hz": 60}) + "\n", "header lacks a valid 'tools'"),
])
def test_bad_headers(tmp_path, header, message):
    path = tmp_path / "h.tmsrec"
    path.write_text(header)
    with pytest.raises(RecordingError, match=message):
        read_recording(path)
    with pytest.raises(RecordingError, match=message):
        ReplayTracker(path).connect()
