"""Typed errors reach the user in their own words; unexpected ones name the log file, whose
traceback is really there; the log holds no file names (they can carry a patient's name)."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import sys
from pathlib import Path

import pytest

from tmsnav.app import logging_setup
from tmsnav.app.workers import Job, error_title, user_message

pytestmark = pytest.mark.gui


@pytest.fixture
def log_dir(tmp_path):
    path = logging_setup.setup_logging("INFO", directory=tmp_path / "logs", stderr=False)
    assert path == tmp_path / "logs" / "tmsnav.log"
    yield tmp_path / "logs"
    logging_setup.close_logging()


def _project_error_classes() -> list[type[BaseException]]:
    """Every exception class defined anywhere in navigation/ and hardware/."""
    found: dict[str, type[BaseException]] = {}
    for package_name in ("tmsnav.navigation", "tmsnav.hardware"):
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_project_error_type_shows_its_own_words():
    classes = _project_error_classes()
    names = {c.__name__ for c in classes}
    # the ones that used to fall through to "Unexpected problem", and the common bases
    assert {"TransformError", "CommandError", "NavigationError", "TrackerError",
            "RegistrationError", "ConnectionLost", "ImageImportError"} <= names
    for cls in classes:
        exc = cls.__new__(cls)                       # skip custom __init__ signatures
        BaseException.__init__(exc, f"words of {cls.__name__} for the user")
        assert user_message(exc) == f"words of {cls.__name__} for the user", cls
        assert error_title(exc) != "Unexpected problem", cls


def test_transform_error_is_not_unexpected():
    from tmsnav.navigation.transforms import TransformError

    exc = TransformError("expected mri_from_target, got mri_from_hotspot")
    assert isinstance(exc, ValueError)               # the reason it used to be 'unexpected'
    assert user_message(exc) == "expected mri_from_target, got mri_from_hotspot"
    assert "Unexpected" not in user_message(exc)


def test_real_device_error_keeps_its_composed_text():
    from tmsnav.hardware.errors import DeviceError, TrackerConnectionError

    assert user_message(DeviceError(0x0C, "invalid port handle", "PHSR")) == \
        "device error 0x0C to PHSR: invalid port handle"
    assert user_message(TrackerConnectionError("cannot open COM3: no such port")) == \
        "cannot open COM3: no such port"


def test_foreign_errors_stay_generic(log_dir):
    for exc in (ValueError("math domain"), KeyError("x"), RuntimeError("boom")):
        assert user_message(exc).startswith("Unexpected problem")
        assert error_title(exc) == "Unexpected problem"


def test_unexpected_error_in_a_job_writes_its_traceback_and_names_the_log(qtbot, log_dir):
    def explode(progress, cancel):
        raise RuntimeError("boom in the worker")

    job = Job(explode, name="exploding job")
    failed: list[str] = []
    job.signals.failed.connect(failed.append)
    job.run()                                         # synchronously: same code path as start()
    log_file = log_dir / "tmsnav.log"
    assert failed == [job.error]
    assert str(log_file) in job.error
    assert job.error.startswith("Unexpected problem (RuntimeError: boom in the worker)")
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: boom in the worker" in text
    assert "in explode" in text                       # the frame that raised is in the log


def test_unhandled_exception_in_a_slot_is_logged_and_shown(log_dir):
    from tmsnav.app.main import _install_excepthook

    shown: list[tuple[str, str]] = []

    class FakeWindow:
        def show_error(self, title: str, message: str) -> None:
            shown.append((title, message))

    old_hook = sys.excepthook
    try:
        _install_excepthook(lambda: FakeWindow())
        try:
            {}["missing key"]
        except KeyError:
            sys.excepthook(*sys.exc_info())
        from tmsnav.navigation.transforms import TransformError
        try:
            raise TransformError("registration is not rigid")
        except TransformError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old_hook
    (title1, msg1), (title2, msg2) = shown
    assert title1 == "Unexpected problem" and str(log_dir / "tmsnav.log") in msg1
    assert (title2, msg2) == ("Problem", "registration is not rigid")
    text = (log_dir / "tmsnav.log").read_text(encoding="utf-8")
    assert "KeyError: 'missing key'" in text and "Traceback" in text


@pytest.mark.safety(hazard="privacy",
                    control="file and folder names (which can carry patient names) never reach the log file")
def test_log_file_holds_no_file_names(log_dir):
    log = logging.getLogger("tmsnav.test")
    log.error("Cannot open /data/patients/Doe_John_1961/T1.nii.gz: not a NIfTI file")
    log.error("Could not save C:\\Sessions\\Jane Roe\\session.json: disk full.")
    try:
        open("/nonexistent/Smith Anna/scan.mgz")
    except OSError:
        log.exception("load failed")
    log.error("relative name Doe_John_T1.nii on the command line")
    log.info("NDI on /dev/ttyUSB0 and COM3 at socket://10.0.0.5:8765")
    text = (log_dir / "tmsnav.log").read_text(encoding="utf-8")
    for identifying in ("Doe", "John", "Jane", "Roe", "Smith", "Anna"):
        assert identifying not in text, text
    assert text.count("<path>") >= 3 and "<file>" in text
    assert "/dev/ttyUSB0" in text and "COM3" in text and "socket://10.0.0.5:8765" in text
    assert "test_errors_and_log.py" in text          # source lines of the traceback stay


def test_log_rotates_at_five_files_of_two_megabytes(log_dir):
    log = logging.getLogger("tmsnav.test")
    line = "x" * 1000
    for _ in range(12_000):                           # ~12 MB: more than the 10 MB budget
        log.warning(line)
    files = sorted(p.name for p in log_dir.iterdir())
    assert files == ["tmsnav.log", "tmsnav.log.1", "tmsnav.log.2", "tmsnav.log.3", "tmsnav.log.4"]
    assert all(p.stat().st_size <= logging_setup.MAX_BYTES for p in log_dir.iterdir())


def test_unwritable_log_folder_falls_back_to_the_terminal(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    try:
        assert logging_setup.setup_logging(directory=blocker / "logs", stderr=False) is None
        assert logging_setup.current_log_file() is None
        assert "terminal output" in user_message(RuntimeError("x"))
    finally:
        logging_setup.close_logging()


def test_default_log_folder_follows_the_platform_convention(monkeypatch, tmp_path):
    monkeypatch.delenv("TMSNAV_LOG_DIR", raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        assert logging_setup.default_log_dir() == tmp_path / "state" / "tmsnav" / "log"
    import platformdirs.macos
    import platformdirs.windows

    assert Path(platformdirs.macos.MacOS("tmsnav", appauthor=False).user_log_dir).parts[-3:] == \
        ("Library", "Logs", "tmsnav")
    monkeypatch.setenv("TMSNAV_LOG_DIR", str(tmp_path / "it_policy"))
    assert logging_setup.default_log_dir() == tmp_path / "it_policy"


def test_help_menu_names_and_opens_the_log_folder(window, log_dir, monkeypatch):
    from PySide6 import QtGui, QtWidgets

    titles = [a.text() for m in window.menuBar().findChildren(QtWidgets.QMenu) for a in m.actions()]
    assert "Open &log folder" in titles and "&About tmsnav" in titles
    assert str(log_dir / "tmsnav.log") in window.about_text()
    assert "BSD-3-Clause" in window.about_text()
    opened: list[str] = []
    monkeypatch.setattr(QtGui.QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    assert window.open_log_folder()
    assert opened == [str(log_dir)]


@pytest.mark.safety(hazard="privacy",
                    control="opening a DICOM folder named after the patient leaves no trace of the name in the log")
def test_failed_open_of_a_patient_named_folder_leaves_no_name_in_the_log(window, log_dir, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(logging_setup, "_identifying", set())
    folder = tmp_path / "Doe_Jane_1961" / "MRI_Doe_Jane"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("not DICOM")
    window.open_image(folder)
    assert window.wait_for_job(timeout_ms=60_000)
    assert "MRI_Doe_Jane" in window.last_error          # the user sees which folder failed
    text = (log_dir / "tmsnav.log").read_text(encoding="utf-8")
    assert "Cannot open" in text and "<name>" in text   # the failure is logged ...
    assert "Doe" not in text and "Jane" not in text and "1961" not in text, text   # ... without the name


def test_registered_names_are_redacted_only_as_whole_words(monkeypatch):
    monkeypatch.setattr(logging_setup, "_identifying", set())
    logging_setup.add_identifying_path("/scans/SMITHJ/T1w.nii.gz")
    assert logging_setup.redact_paths("Opening SMITHJ and T1w failed") == "Opening <name> and <name> failed"
    assert logging_setup.redact_paths("SMITHJONES stays") == "SMITHJONES stays"
