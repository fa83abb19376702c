"""``tmsnav-target qeeg EEG_FILE``: a clinic's resting EEG to ``qeeg.json`` and ``qeeg_report.png``.

The dispatcher ``tmsnav.navigation.target_cli`` calls ``add_arguments`` for the ``qeeg``
subcommand and ``run`` with the parsed arguments. The steps are the app's: read (``read_eeg``),
clean (``clean_eeg``), measure (``compute_measures``), apply the rule table (``rules.assess``),
draw the report (``report_figure``).

Writing: both files are rendered to temporary names in the output folder and renamed only when
both are complete, so a failure leaves the folder as it was. Bad input (unreadable file, too little
clean data, a bad option...) is one line on stderr and exit code 2. Nothing written or printed
names the patient: the input is recorded by format and SHA-256, not by its file name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from tmsnav.navigation.errors import NavigationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["add_arguments", "run", "analyse", "JSON_NAME", "PNG_NAME"]

JSON_NAME = "qeeg.json"
PNG_NAME = "qeeg_report.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tmsnav-target qeeg`` (see docs/qeeg.md "CLI")."""
    parser.description = ("qEEG measures of a resting EEG (EDF/EDF+, BDF, BrainVision .vhdr, EEGLAB .set, FIF): "
                          "band powers, individual alpha frequency, frontal alpha asymmetry, theta/beta ratio, "
                          "and the rule table's suggestion (decision support). Writes qeeg.json and "
                          "qeeg_report.png.")
    parser.add_argument("eeg_file", metavar="EEG_FILE", help="the recording")
    parser.add_argument("-o", "--output", default=".", metavar="OUT",
                        help="output folder (created if needed; default: the current folder)")
    parser.add_argument("--reference", choices=("average", "linked_ears"), default="average",
                        help="re-reference (default average; linked_ears needs A1/A2, M1/M2 or TP9/TP10)")
    parser.add_argument("--condition", choices=("eyes_closed", "eyes_open", "all"), default="eyes_closed",
                        help="which marked segments to analyse (default eyes_closed; without markers the whole "
                             "recording is used and a warning says so)")
    parser.add_argument("--line-frequency", choices=("auto", "50", "60"), default="auto",
                        help="mains frequency to notch (default: detected from the data)")
    parser.add_argument("--min-clean", type=float, default=60.0, metavar="S",
                        help="least clean data to accept, seconds (default 60)")
    parser.add_argument("--bands", metavar="SPEC",
                        help="band table, e.g. delta=1-4,theta=4-8,alpha=8-13,beta=13-30,gamma=30-45 (the default)")
    parser.add_argument("--tbr-beta", choices=("13-21", "13-30"), default="13-21",
                        help="beta band of the theta/beta ratio (default 13-21 Hz, low beta)")
    parser.add_argument("--faa-threshold", type=float, default=0.2, metavar="X",
                        help="|FAA| below this gives no site (default 0.2; a convention, not a validated cut-off)")


def _software() -> dict:
    out: dict[str, str | None] = {}
    for name in ("tmsnav", "mne", "fooof", "numpy", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _finite(obj: object) -> object:
    """JSON has no NaN: non-finite numbers become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    return obj


def _check_options(args: argparse.Namespace) -> None:
    if not (args.min_clean > 0 and math.isfinite(args.min_clean)):
        raise NavigationError(f"--min-clean must be a positive number of seconds, got {args.min_clean:g}")
    if not (args.faa_threshold >= 0 and math.isfinite(args.faa_threshold)):
        raise NavigationError(f"--faa-threshold must be 0 or more, got {args.faa_threshold:g}")
    source = Path(args.eeg_file)
    if source.is_dir() and source.suffix.lower() != ".ds":
        raise NavigationError(f"EEG_FILE must be a file, but a folder was given: {args.eeg_file}")
    if not source.exists():
        raise NavigationError(f"EEG file not found: {args.eeg_file}")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise NavigationError(f"the output (-o) is a file; give a folder: {args.output}")


def analyse(args: argparse.Namespace) -> tuple[dict[str, Any], Figure]:
    """Read, clean, measure and suggest; returns (the qeeg.json content, the report figure)."""
    from tmsnav.navigation.eeg.cleaning import CleaningParams, clean_eeg
    from tmsnav.navigation.eeg.measures import compute_measures
    from tmsnav.navigation.eeg.readers import read_eeg
    from tmsnav.navigation.eeg.report_figure import report_figure
    from tmsnav.navigation.eeg.rules import RuleParams, assess
    from tmsnav.navigation.eeg.spectra import NFFT_S, Bands

    bands = Bands.parse(args.bands) if args.bands else Bands()
    beta = (13.0, 21.0) if args.tbr_beta == "13-21" else (13.0, 30.0)
    cleaning = CleaningParams(reference=args.reference, condition=args.condition, min_clean_s=float(args.min_clean),
                              notch_hz=None if args.line_frequency == "auto" else float(args.line_frequency))
    rule_params = RuleParams(faa_threshold=float(args.faa_threshold))
    source = Path(args.eeg_file)
    rec = read_eeg(source)
    clean = clean_eeg(rec, cleaning)
    measures = compute_measures(clean, bands, tbr_beta_hz=beta)
    outcome = assess(measures, rule_params)
    result = {
        "software": _software(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": {"format": rec.file_format, "sha256": _sha256(source), "sfreq_hz": rec.sfreq_hz,
                  "duration_s": rec.duration_s, "channels": list(rec.channels),
                  "dropped_channels": dict(rec.dropped_channels)},
        "parameters": {
            "cleaning": {"band_hz": list(cleaning.band_hz), "notch_hz": cleaning.notch_hz,
                         "reference": cleaning.reference, "epoch_s": cleaning.epoch_s,
                         "amplitude_uv": cleaning.amplitude_uv, "gradient_uv_per_ms": cleaning.gradient_uv_per_ms,
                         "min_clean_s": cleaning.min_clean_s, "condition": cleaning.condition},
            "spectrum": {"method": "Welch, one Hann segment per clean epoch, averaged over epochs",
                         "segment_s": cleaning.epoch_s, "nfft_s": NFFT_S,
                         "band_power": "integral of the linearly interpolated PSD from low to high edge (trapezoid)"},
            "bands_hz": {k: list(v) for k, v in bands.as_dict().items()},
            "tbr_beta_hz": list(beta),
            "faa_threshold": rule_params.faa_threshold,
            "theta_z_flag": rule_params.theta_z_flag,
        },
        "cleaning": {"steps": list(clean.steps), "clean_duration_s": clean.clean_duration_s,
                     "n_clean_epochs": clean.n_epochs, "reference": clean.reference, "notch_hz": clean.notch_hz,
                     "condition": clean.condition, "good_channels": list(clean.channels)},
        "rejected": {"channels": dict(clean.bad_channels),
                     "segments": [{"start_s": a, "stop_s": b, "reason": r} for a, b, r in clean.rejected_segments]},
        **measures.to_json_dict(),
        "suggestion": outcome.to_json_dict(),
    }
    result["warnings"] = list(dict.fromkeys(list(clean.warnings) + list(measures.warnings)))
    condition = clean.condition.replace("_", " ")
    figure = report_figure(measures, outcome,
                           title=f"qEEG report ({rec.file_format}, {clean.clean_duration_s:.0f} s clean, {condition})")
    return cast(dict, _finite(result)), figure


def _write(out: Path, result: dict, figure: Figure) -> None:
    from tmsnav.navigation.eeg.report_figure import write_report_png

    out.mkdir(parents=True, exist_ok=True)
    tmp_json, tmp_png = out / f".{JSON_NAME}.partial", out / f".{PNG_NAME}.partial.png"
    try:
        tmp_json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        write_report_png(figure, tmp_png)
        tmp_png.replace(out / PNG_NAME)
        tmp_json.replace(out / JSON_NAME)
    finally:
        for tmp in (tmp_json, tmp_png):
            tmp.unlink(missing_ok=True)


def _summary(result: dict) -> str:
    iaf = result.get("iaf_hz")
    faa = result.get("faa_f4_f3")
    tbr = result.get("tbr_cz")
    parts = ["IAF " + ("none" if iaf is None else f"{iaf:.2f} Hz"),
             "FAA F4/F3 " + ("n/a" if faa is None else f"{faa:+.2f}"),
             "TBR Cz " + ("n/a" if tbr is None else f"{tbr:.2f}")]
    sug = result["suggestion"]["suggestions"]
    parts.append("suggestion: " + ("; ".join(f"{s['site']} ({s['side']}) {s['frequency_hz']:g} Hz {s['protocol']}"
                                             for s in sug) if sug else "none"))
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Exit code 0 written; 2 bad input (one line on stderr, nothing written)."""
    try:
        _check_options(args)
        result, figure = analyse(args)
        out = Path(args.output)
        _write(out, result, figure)
    except NavigationError as exc:
        sys.stderr.write(f"tmsnav-target qeeg: error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"tmsnav-target qeeg: error: cannot write to {args.output}: {exc.strerror or exc}\n")
        return 2
    print(f"{JSON_NAME} and {PNG_NAME} written to {out}: {_summary(result)}")
    for w in result["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    return 0
