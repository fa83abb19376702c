"""``tmsnav-target qeeg`` end to end on the sample EDF, and every bad input: one line, exit 2,
nothing (half-)written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tmsnav.navigation.eeg.sample_eeg import write_sample_eeg
from tmsnav.navigation.target_cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("eeg")
    # A file name that identifies a patient: it must not reach the outputs.
    truth = write_sample_eeg(folder / "Doe_Jane_1970.edf", minutes=4.0, iaf_hz=10.3, seed=7)
    return Path(truth.path), truth


@pytest.fixture(scope="module")
def run_ok(sample, tmp_path_factory):
    path, truth = sample
    out = tmp_path_factory.mktemp("out") / "qeeg"
    code = main(["qeeg", str(path), "-o", str(out)])
    return code, out, truth


def test_cli_writes_json_and_png_with_the_planted_findings(run_ok):
    code, out, truth = run_ok
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["qeeg.json", "qeeg_report.png"]      # no partial files
    d = json.loads((out / "qeeg.json").read_text(encoding="utf-8"))
    assert abs(d["iaf_hz"] - 10.3) <= 0.25 and d["iaf_peak_pick_hz"] is not None
    # The sample's rhythms have slow random envelopes: over ~2 min of eyes-closed data the realised
    # power ratio differs from the planted mean by up to ~0.2 (exactness is in test_measures.py).
    assert d["faa_f4_f3"] < -0.2 and d["faa_f4_f3"] == pytest.approx(truth.expected_faa_f4_f3, abs=0.25)
    assert "FAA < 0 means relatively LESS left-frontal" in d["faa_sign_convention"]
    assert d["tbr_cz"] == pytest.approx(truth.expected_tbr_cz["13-21"], rel=0.15)
    assert d["tbr_band_hz"] == {"theta": [4.0, 8.0], "beta": [13.0, 21.0]}
    assert set(d["band_power"]["absolute"]) == set(truth.channels)
    assert set(d["band_power"]["absolute"]["O1"]) == {"delta", "theta", "alpha", "beta", "gamma"}
    assert d["band_power"]["unit"] == "µV²"
    # rejected data with reasons: the planted muscle bursts, the eyes-open blocks
    reasons = [s["reason"] for s in d["rejected"]["segments"]]
    assert any(r.startswith("muscle") for r in reasons) and any("outside eyes-closed" in r for r in reasons)
    assert isinstance(d["rejected"]["channels"], dict)
    sug = d["suggestion"]["suggestions"]
    assert sug[0]["site"] == "F3" and sug[0]["side"] == "left" and sug[0]["reasons"] and sug[0]["citations"]
    assert "Widge" in sug[0]["confidence_note"]
    assert d["software"]["tmsnav"] and d["software"]["fooof"] == "1.1.1"
    assert d["parameters"]["cleaning"]["reference"] == "average" and d["parameters"]["faa_threshold"] == 0.2
    assert "No open normative" in d["normative_database"]
    assert all(r["citation"] for r in d["published_ranges"])


def test_outputs_do_not_name_the_patient(run_ok):
    _, out, _ = run_ok
    for f in out.iterdir():
        assert "Doe" not in f.name
    assert "Doe" not in (out / "qeeg.json").read_text(encoding="utf-8")


def test_report_png_is_a_full_figure(run_ok):
    _, out, _ = run_ok
    from matplotlib.image import imread

    data = (out / "qeeg_report.png").read_bytes()
    assert data[:8] == PNG_MAGIC
    img = imread(str(out / "qeeg_report.png"))
    assert img.shape[:2] == (1100, 1500)
    coloured = (abs(img[..., 0] - img[..., 1]) > 0.1) | (abs(img[..., 1] - img[..., 2]) > 0.1)
    assert coloured.mean() > 0.05              # topomaps and spectra drawn, not a blank page (measured 0.09)


def test_options_reach_the_computation(sample, tmp_path):
    path, _ = sample
    assert main(["qeeg", str(path), "-o", str(tmp_path), "--tbr-beta", "13-30", "--bands",
                 "theta=4-8,alpha=8-12", "--faa-threshold", "5", "--line-frequency", "50"]) == 0
    d = json.loads((tmp_path / "qeeg.json").read_text(encoding="utf-8"))
    assert d["tbr_band_hz"]["beta"] == [13.0, 30.0]
    assert set(d["band_power"]["absolute"]["Cz"]) == {"theta", "alpha"}
    assert d["suggestion"]["suggestions"] == [] and "within ±5" in d["suggestion"]["no_suggestion_reasons"][0]
    assert d["parameters"]["cleaning"]["notch_hz"] == 50.0


def bad(tmp_path: Path, capsys, *argv: str) -> str:
    out = tmp_path / "out"
    code = main(["qeeg", *argv, "-o", str(out)]) if "-o" not in argv else main(["qeeg", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []
    return err


def test_missing_file(tmp_path, capsys):
    assert "not found" in bad(tmp_path, capsys, str(tmp_path / "none.edf"))


def test_corrupt_file(tmp_path, capsys):
    f = tmp_path / "x.edf"
    f.write_bytes(b"0       garbage")
    assert "x.edf" in bad(tmp_path, capsys, str(f))


def test_truncated_file(sample, tmp_path, capsys):
    path, _ = sample
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[:200_000])
    assert "cut.edf" in bad(tmp_path, capsys, str(cut))


def test_unsupported_extension(tmp_path, capsys):
    f = tmp_path / "x.txt"
    f.write_text("1,2,3")
    assert "does not read" in bad(tmp_path, capsys, str(f))


def test_too_little_clean_data(sample, tmp_path, capsys):
    path, _ = sample
    assert "at least 900 s" in bad(tmp_path, capsys, str(path), "--min-clean", "900")


def test_linked_ears_without_ear_electrodes(sample, tmp_path, capsys):
    path, _ = sample
    assert "A1 and A2" in bad(tmp_path, capsys, str(path), "--reference", "linked_ears")


@pytest.mark.parametrize("spec", ["alpha=13-8", "alpha=8-60", "alpha"])
def test_bad_band_table(sample, tmp_path, capsys, spec):
    path, _ = sample
    assert "band" in bad(tmp_path, capsys, str(path), "--bands", spec)


def test_negative_threshold_and_output_that_is_a_file(sample, tmp_path, capsys):
    path, _ = sample
    assert "--faa-threshold" in bad(tmp_path, capsys, str(path), "--faa-threshold", "-1")
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert "is a file" in bad(tmp_path, capsys, str(path), "-o", str(f))


def test_unknown_option_value_is_one_line(sample, capsys):
    path, _ = sample
    assert main(["qeeg", str(path), "--reference", "cz"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and err.count("\n") == 1


def test_a_failed_write_leaves_the_previous_results_and_no_partial_file(sample, tmp_path, capsys, monkeypatch):
    path, _ = sample
    (tmp_path / "qeeg.json").write_text("previous")
    (tmp_path / "qeeg_report.png").write_bytes(b"previous")
    import tmsnav.navigation.eeg.report_figure as rf

    def disk_full(fig, p):
        Path(p).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rf, "write_report_png", disk_full)
    assert main(["qeeg", str(path), "-o", str(tmp_path)]) == 2
    assert "No space left" in capsys.readouterr().err
    assert (tmp_path / "qeeg.json").read_text() == "previous"
    assert (tmp_path / "qeeg_report.png").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qeeg.json", "qeeg_report.png"]


@pytest.mark.slow
def test_no_gui_backend_is_touched(sample, tmp_path):
    """fooof imports matplotlib.pyplot; the report must still leave the backend unresolved and Qt
    unimported, so the same code is safe on the app's worker thread."""
    path, _ = sample
    code = ("import sys, matplotlib; from tmsnav.navigation.target_cli import main; "
            f"rc = main(['qeeg', {str(path)!r}, '-o', {str(tmp_path)!r}]); "
            "print(rc, 'PySide6' in sys.modules, matplotlib.rcParams._get_backend_or_none())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.stdout.strip().splitlines()[-1] == "0 False None", done.stderr[-2000:]


def _write_montage(path: Path, names: list[str], seconds: float = 150.0) -> Path:
    """An EDF+ of independent channels with a 10 Hz alpha peak and no condition markers."""
    import numpy as np

    from tmsnav.navigation.eeg.edf_writer import write_edf
    from tmsnav.navigation.eeg.synthetic import ChannelSpec, Peak, shaped_noise

    rng = np.random.default_rng(11)
    spec = ChannelSpec(slope=1.5, aperiodic_at_10hz_v2_per_hz=4e-12, peaks=[Peak(10.0, 40e-12, 0.8)])
    data_uv = np.stack([1e6 * shaped_noise(spec, int(seconds * 256), 256.0, rng) for _ in names])
    return write_edf(path, data_uv, 256.0, names, unit="uV", physical_min=[-500.0] * len(names),
                     physical_max=[500.0] * len(names))


def test_a_montage_without_f3_f4_gives_measures_but_no_suggestion_with_the_reason(tmp_path, capsys):
    names = ["Fp1", "Fp2", "Fz", "C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "O2"]
    path = _write_montage(tmp_path / "reduced.edf", names)
    assert main(["qeeg", str(path), "-o", str(tmp_path / "out"), "--condition", "all"]) == 0
    d = json.loads((tmp_path / "out" / "qeeg.json").read_text(encoding="utf-8"))
    assert d["faa_f4_f3"] is None and d["iaf_hz"] == pytest.approx(10.0, abs=0.25)
    assert d["suggestion"]["suggestions"] == []
    reason = d["suggestion"]["no_suggestion_reasons"][0]
    assert "F4 not recorded" in reason and "F3 not recorded" in reason and "needs F3 and F4" in reason


def test_no_frontal_channels_is_refused(tmp_path, capsys):
    path = _write_montage(tmp_path / "posterior.edf", ["C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "O2"])
    assert "no frontal channels" in bad(tmp_path, capsys, str(path))
