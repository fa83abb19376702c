"""The command line the README gives (demo screenshot, bad arguments), and recording a tracker
stream from the GUI then replaying it as a tracker."""

import logging

import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from tmsnav.app.main import main
from tmsnav.app.main_window import MainWindow
from tmsnav.hardware.config import TrackerConfig

pytestmark = pytest.mark.gui


def png_pixels(path) -> np.ndarray:
    img = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[..., :3]


@pytest.mark.slow
def test_demo_screenshot_shows_the_head_and_slices(qapp, tmp_path):
    out = tmp_path / "demo.png"
    assert main(["--demo", "--screenshot", str(out), "--size", "1200x800"]) == 0
    pixels = png_pixels(out).astype(int)
    h, w, _ = pixels.shape
    view3d = pixels[40: h // 2, 10: w // 3]            # top-left quadrant: the 3-D view
    background = np.median(view3d[:5, :5].reshape(-1, 3), axis=0)
    head = np.abs(view3d - background).sum(axis=-1) > 60
    assert head.mean() > 0.05, "the 3-D view shows no head"
    axial = pixels[40: h // 2, w // 3: 2 * w // 3]      # top-middle: the axial slice
    assert axial.std() > 20, "the axial slice is blank"


def test_command_line_errors_are_one_line_and_an_exit_code(qapp, tmp_path, capsys):
    def main_windows() -> int:
        return sum(isinstance(w, MainWindow) for w in QtWidgets.QApplication.topLevelWidgets())

    windows_before = main_windows()
    assert main([str(tmp_path / "missing.nii.gz")]) == 2
    assert "no such file" in capsys.readouterr().err
    for bad in ("huge", "12x", "1x2x3"):
        assert main(["--size", bad, "--screenshot", str(tmp_path / "x.png")]) == 2
        assert "--size" in capsys.readouterr().err
    # refused before anything opened: no window left behind (it held the records database)
    assert main_windows() == windows_before


def test_main_leaves_no_log_handler_on_a_stream_the_caller_may_close(qapp, tmp_path):
    """main() logs to sys.stderr while it runs; a handler left behind wrote into pytest's closed
    capture in CI ("I/O operation on closed file") for every later log line."""
    root = logging.getLogger()
    before = list(root.handlers)
    assert main(["--screenshot", str(tmp_path / "d.png"), "--size", "900x600",
                 "--log-dir", str(tmp_path / "logs")]) == 0
    assert root.handlers == before


def test_record_in_the_gui_then_replay_the_file_as_a_tracker(window, qtbot, tmp_path):
    window.connect_tracker(TrackerConfig.parse("sim:idle"))
    qtbot.waitUntil(lambda: window.tracker_panel.light_of("pointer") == "green", timeout=5000)
    path = tmp_path / "session.jsonl"
    window.record_tracking(str(path))
    assert window.tracking.recording and window.tracker_panel.record_button.isChecked()
    qtbot.wait(600)
    window.record_tracking("")
    assert not window.tracking.recording
    lines = path.read_text().splitlines()
    assert len(lines) > 20  # header + ~36 frames at 60 Hz
    window.tracking.stop()
    window.connect_tracker(TrackerConfig.parse(f"replay:{path}"))
    qtbot.waitUntil(lambda: window.tracker_panel.light_of("pointer") == "green", timeout=5000)


def test_recording_without_a_tracker_is_refused_with_a_message(window):
    window.record_tracking("/tmp/never.jsonl")
    assert "connect a tracker" in window.last_error
    assert not window.tracker_panel.record_button.isChecked()
