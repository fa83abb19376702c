"""EEG files for the reader and cleaning tests, written by writers independent of tmsnav's reader.

* BDF is packed here by hand from BioSemi's description of the format (EDF's header with the
  version field 0xFF + "BIOSEMI", "24BIT" in the reserved field, samples as 24-bit little-endian
  two's complement; https://www.biosemi.com/faq/file_format.htm), with a "Status" trigger channel.
* EDF by edfio, BrainVision by pybv, EEGLAB by eeglabio, FIF by MNE itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TEN_TWENTY = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
              "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]


def eeg_like(n_ch: int, seconds: float, sfreq: float, seed: int = 0, alpha_uv: float = 15.0) -> np.ndarray:
    """(n_ch, n) µV: 1/f-ish background plus a 10 Hz rhythm of a different size per channel, so
    that every channel is distinguishable (a swapped pair would be seen)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sfreq))
    t = np.arange(n) / sfreq
    white = rng.standard_normal((n_ch, n))
    spec = np.fft.rfft(white, axis=1)
    f = np.fft.rfftfreq(n, 1 / sfreq)
    spec[:, 1:] /= np.sqrt(f[1:])
    spec[:, 0] = 0
    bg = np.fft.irfft(spec, n, axis=1)
    bg *= 8.0 / bg.std(axis=1, keepdims=True)
    amp = alpha_uv * (0.3 + np.arange(n_ch) / max(1, n_ch - 1))
    phase = rng.uniform(0, 2 * np.pi, n_ch)
    return bg + amp[:, None] * np.sin(2 * np.pi * 10.0 * t[None, :] + phase[:, None])


def _ascii(text: str, width: int) -> bytes:
    return text.encode("ascii").ljust(width, b" ")[:width]


def write_bdf(path: Path, data_uv: np.ndarray, sfreq: int, labels: list[str],
              status: np.ndarray | None = None, phys_uv: float = 262143.0) -> Path:
    """A BioSemi BDF: 1-s records, 24-bit samples; ``data_uv`` rounded to the 24-bit grid."""
    n_ch, n = data_uv.shape
    assert n % sfreq == 0
    n_rec = n // sfreq
    sigs = list(labels) + ["Status"]
    ns = len(sigs)
    dmin, dmax = -8388608, 8388607
    head = (b"\xffBIOSEMI" + _ascii("X X X X", 80) + _ascii("Startdate X", 80)
            + _ascii("01.01.20", 8) + _ascii("09.00.00", 8) + _ascii(str(256 * (ns + 1)), 8)
            + _ascii("24BIT", 44) + _ascii(str(n_rec), 8) + _ascii("1", 8) + _ascii(str(ns), 4))
    fields: list[list[bytes]] = [[] for _ in range(10)]
    for i, lab in enumerate(sigs):
        st = lab == "Status"
        fields[0].append(_ascii(lab, 16))
        fields[1].append(_ascii("Triggers and Status" if st else "Active Electrode", 80))
        fields[2].append(_ascii("Boolean" if st else "uV", 8))
        fields[3].append(_ascii(str(dmin) if st else f"{-phys_uv:g}", 8))
        fields[4].append(_ascii(str(dmax) if st else f"{phys_uv:g}", 8))
        fields[5].append(_ascii(str(dmin), 8))
        fields[6].append(_ascii(str(dmax), 8))
        fields[7].append(_ascii("" if st else "HP:DC; LP:417 Hz", 80))
        fields[8].append(_ascii(str(sfreq), 8))
        fields[9].append(_ascii("", 32))
    head += b"".join(b"".join(f) for f in fields)
    gain = (dmax - dmin) / (2 * phys_uv)
    dig = np.clip(np.round((data_uv + phys_uv) * gain + dmin), dmin, dmax).astype(np.int64)
    st = np.zeros(n, dtype=np.int64) if status is None else status.astype(np.int64)
    allsig = np.vstack([dig, st[None, :]])
    u = (allsig & 0xFFFFFF).astype("<u4")
    three = np.stack([(u & 0xFF), (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=-1).astype(np.uint8)
    with open(path, "wb") as f:
        f.write(head)
        for r in range(n_rec):
            f.write(three[:, r * sfreq:(r + 1) * sfreq, :].tobytes())
    return path


def bdf_quantum_uv(phys_uv: float = 262143.0) -> float:
    return 2 * phys_uv / (8388607 + 8388608)


def write_edfio(path: Path, data_uv: np.ndarray, sfreq: float, labels: list[str],
                annotations: list[tuple[float, float, str]] = ()) -> Path:
    import edfio

    sigs = [edfio.EdfSignal(row, sfreq, label=lab, physical_dimension="uV") for row, lab in zip(data_uv, labels)]
    anns = [edfio.EdfAnnotation(o, d or None, t) for o, d, t in annotations]
    edfio.Edf(sigs, annotations=anns).write(path)
    return path


def write_brainvision(folder: Path, data_uv: np.ndarray, sfreq: float, labels: list[str],
                      markers: list[tuple[float, str]] = ()) -> Path:
    import pybv

    events = [{"onset": int(round(t * sfreq)), "duration": 1, "description": d, "type": "Comment"}
              for t, d in markers]
    pybv.write_brainvision(data=data_uv * 1e-6, sfreq=sfreq, ch_names=labels, fname_base="rest",
                           folder_out=folder, events=events or None, overwrite=True)
    return folder / "rest.vhdr"


def write_eeglab(path: Path, data_uv: np.ndarray, sfreq: float, labels: list[str],
                 annotations: list[tuple[float, float, str]] = ()) -> Path:
    from eeglabio.raw import export_set

    ann = None
    if annotations:
        ann = [np.array([d for _, _, d in annotations]), np.array([o for o, _, _ in annotations]),
               np.array([u for _, u, _ in annotations])]
    export_set(str(path), data_uv * 1e-6, int(sfreq), labels, annotations=ann)
    return path


def write_fif(path: Path, data_uv: np.ndarray, sfreq: float, labels: list[str],
              annotations: list[tuple[float, float, str]] = ()) -> Path:
    import mne

    info = mne.create_info(labels, sfreq, "eeg")
    raw = mne.io.RawArray(data_uv * 1e-6, info, verbose=False)
    if annotations:
        raw.set_annotations(mne.Annotations([a[0] for a in annotations], [a[1] for a in annotations],
                                            [a[2] for a in annotations]))
    raw.save(path, overwrite=True, verbose=False)
    return path
