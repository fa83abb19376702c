"""Saving a report all-or-nothing: disk full, a missing folder, cancel; and the figure thinning
that keeps every miss on the plot."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest
from report_course_builder import BuiltCourse

from tmsnav.navigation.reports import ReportError, write_course_report, write_session_report
from tmsnav.navigation.reports import writer
from tmsnav.navigation.reports.figures import thin_for_plot
from tmsnav.navigation.reports.model import PulseSeries


class _FillsUp(io.FileIO):
    """A file on a disk that fills up after ``room`` bytes (the rest of the write fails with ENOSPC)."""

    room = 1000

    def write(self, data) -> int:  # type: ignore[override]
        n = super().write(bytes(data[: self.room]))
        if n < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return n


def _opener(fail_on_call: int):
    calls = []

    def opener(fd: int, mode: str):
        calls.append(fd)
        if len(calls) == fail_on_call:
            return _FillsUp(fd, "wb")
        return open(fd, mode)
    return opener


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_disk_full_leaves_no_partial_file_and_keeps_the_earlier_report(course: BuiltCourse, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        fail_on_call: int) -> None:
    """Fails on the HTML (1) or on the PDF after the HTML was written completely (2): either way no
    new file appears and the report saved before is byte-for-byte the same."""
    uid = course.session_uids[0]
    earlier = write_session_report(course.records, uid, tmp_path)
    earlier.html.write_text("earlier report", encoding="utf-8")      # so a replacement would show
    before = _snapshot(tmp_path)
    monkeypatch.setattr(writer, "_open", _opener(fail_on_call))
    with pytest.raises(ReportError) as err:
        write_session_report(course.records, uid, tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "the disk is full" in message
    assert _snapshot(tmp_path) == before                               # no temp file, nothing replaced


def test_disk_full_on_a_new_report_leaves_nothing(course: BuiltCourse, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "_open", _opener(2))
    with pytest.raises(ReportError):
        write_course_report(course.records, course.course_uid, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_named_and_not_created(course: BuiltCourse, tmp_path: Path) -> None:
    gone = tmp_path / "usb-stick" / "reports"
    with pytest.raises(ReportError, match="the folder does not exist") as err:
        write_course_report(course.records, course.course_uid, gone)
    assert str(gone) in str(err.value)
    assert not gone.exists() and not gone.parent.exists()


def test_a_file_in_place_of_the_folder(course: BuiltCourse, tmp_path: Path) -> None:
    path = tmp_path / "reports"
    path.write_text("not a folder")
    with pytest.raises(ReportError, match="not a folder"):
        write_session_report(course.records, course.session_uids[0], path)


def test_read_only_folder(course: BuiltCourse, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").write_text("x")
        except PermissionError:
            pass
        else:
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(ReportError, match="permission denied"):
            write_session_report(course.records, course.session_uids[0], folder)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_unknown_format_refused(course: BuiltCourse, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="formats"):
        write_session_report(course.records, course.session_uids[0], tmp_path, formats=("docx",))
    with pytest.raises(ValueError, match="formats"):
        write_session_report(course.records, course.session_uids[0], tmp_path, formats=())


def test_thinning_keeps_every_miss() -> None:
    rng = np.random.default_rng(3)
    n = 30_000
    err = np.abs(rng.normal(1.0, 1.0, n))
    err[::97] = np.nan
    within = np.nan_to_num(err, nan=99.0) < 3.0
    series = PulseSeries(np.arange(1, n + 1), err, within)
    keep = thin_for_plot(series, max_on_target=2000)
    misses = np.flatnonzero(np.isfinite(err) & ~within)
    assert set(misses) <= set(keep)                                    # every off-target pulse drawn
    on_kept = [i for i in keep if within[i]]
    assert len(on_kept) == 2000
    assert on_kept[0] == np.flatnonzero(within)[0] and on_kept[-1] == np.flatnonzero(within)[-1]
    assert not np.isnan(err[keep]).any()
    small = PulseSeries(np.arange(1, 11), np.linspace(0, 5, 10), np.linspace(0, 5, 10) < 3)
    assert list(thin_for_plot(small)) == list(range(10))               # short sessions: every pulse


def test_read_only_disk_simulated(course: BuiltCourse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as a read-only mount for a root user (who may write into a 0555 folder)."""
    def read_only(fd: int, mode: str):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(writer, "_open", read_only)
    with pytest.raises(ReportError, match="the disk is read-only"):
        write_session_report(course.records, course.session_uids[0], tmp_path)
    assert list(tmp_path.iterdir()) == []
