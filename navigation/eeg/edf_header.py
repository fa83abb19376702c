"""Check an EDF/EDF+/BDF header against the file before MNE reads it.

MNE reads a well-formed file correctly, but a damaged one gives an error about struct offsets or,
worse, a shorter recording without a word. The header says exactly how long the file must be
(EDF: Kemp et al. 1992, Electroencephalogr Clin Neurophysiol 82:391; EDF+: Kemp & Olivan 2003,
Clin Neurophysiol 114:1755; BDF: BioSemi's 24-bit variant, version byte 0xFF + "BIOSEMI"), so a
cut copy, a header that lies about the record count and a file that is not EDF at all are told
apart here, each with its own message. The per-signal physical minimum/maximum also tell the
cleaning which values mean "the amplifier was clipped".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tmsnav.navigation.eeg.recording import EegInputError

__all__ = ["EdfHeader", "read_edf_header", "unit_scale_to_volts"]

_UNIT_TO_V = {"V": 1.0, "MV": 1e-3, "UV": 1e-6, "µV".upper(): 1e-6, "μV".upper(): 1e-6, "NV": 1e-9}


def unit_scale_to_volts(unit: str) -> float | None:
    """Volts per unit for an EDF physical dimension (``"uV"`` -> 1e-6), None if not a voltage."""
    return _UNIT_TO_V.get(unit.strip().upper())


@dataclass
class EdfHeader:
    """The fields of an EDF/BDF header that the reader checks or uses."""

    file_format: str                  # "EDF", "EDF+" or "BDF"
    n_records: int
    record_s: float
    labels: list[str]
    units: list[str]
    physical_min: list[float]
    physical_max: list[float]
    digital_min: list[int]
    digital_max: list[int]
    samples_per_record: list[int]
    bytes_per_sample: int
    header_bytes: int
    warnings: list[str] = field(default_factory=list)

    @property
    def record_bytes(self) -> int:
        return sum(self.samples_per_record) * self.bytes_per_sample


def _field(raw: bytes, what: str, name: str) -> str:
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise EegInputError(f"{name} is not a readable {what} file: its header holds non-text "
                            "bytes where the format has text (the file is damaged or not an "
                            f"{what} file)") from None


def _number(text: str, what: str, name: str, field_name: str, kind: type = float) -> float:
    try:
        return kind(float(text)) if kind is int else float(text)
    except ValueError:
        raise EegInputError(f"{name}: the {what} header field '{field_name}' is '{text}', not a "
                            "number (the file is damaged or was not written as "
                            f"{what})") from None


def read_edf_header(path: str | Path) -> EdfHeader:
    """Parse and check the header of an EDF/EDF+/BDF file; raise ``EegInputError`` if damaged."""
    p = Path(path)
    name = p.name
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(256)
        if len(head) < 256:
            raise EegInputError(f"{name} is too short to be an EDF/BDF file ({size} bytes; the "
                                "fixed header alone is 256 bytes): the file is truncated or empty")
        is_bdf = head[:8] == b"\xffBIOSEMI"
        what = "BDF" if is_bdf else "EDF"
        if not is_bdf and head[:8] != b"0       ":
            raise EegInputError(f"{name} is not an {what} file: it does not start with the EDF "
                                "version field '0' (it may be another format renamed, or damaged)")
        hdr_bytes = int(_number(_field(head[184:192], what, name), what, name, "header bytes", int))
        reserved = _field(head[192:236], what, name)
        n_records = int(_number(_field(head[236:244], what, name), what, name, "number of records", int))
        record_s = _number(_field(head[244:252], what, name), what, name, "record duration")
        ns = int(_number(_field(head[252:256], what, name), what, name, "number of signals", int))
        if ns <= 0 or hdr_bytes != 256 * (ns + 1):
            raise EegInputError(f"{name}: the {what} header says {ns} signals and a header of "
                                f"{hdr_bytes} bytes, which do not agree (256 x (signals + 1)); the "
                                "file is damaged")
        sig = f.read(256 * ns)
        if len(sig) < 256 * ns:
            raise EegInputError(f"{name} is truncated inside its header ({size} bytes, the header "
                                f"alone needs {hdr_bytes})")

    def col(offset: int, width: int) -> list[str]:
        base = offset * ns
        return [_field(sig[base + i * width: base + (i + 1) * width], what, name) for i in range(ns)]

    labels = col(0, 16)
    units = col(16 + 80, 8)
    pmin = [_number(t, what, name, "physical minimum") for t in col(16 + 80 + 8, 8)]
    pmax = [_number(t, what, name, "physical maximum") for t in col(16 + 80 + 16, 8)]
    dmin = [int(_number(t, what, name, "digital minimum", int)) for t in col(16 + 80 + 24, 8)]
    dmax = [int(_number(t, what, name, "digital maximum", int)) for t in col(16 + 80 + 32, 8)]
    nsamp = [int(_number(t, what, name, "samples per record", int))
             for t in col(16 + 80 + 40 + 80, 8)]
    bps = 3 if is_bdf else 2
    fmt = "BDF" if is_bdf else ("EDF+" if reserved.startswith("EDF+") else "EDF")
    header = EdfHeader(fmt, n_records, record_s, labels, units, pmin, pmax, dmin, dmax, nsamp, bps,
                       hdr_bytes)
    if record_s <= 0 or any(n <= 0 for n in nsamp):
        raise EegInputError(f"{name}: the {what} header gives a record duration of {record_s} s "
                            "and samples per record that cannot describe a recording (damaged)")
    bad_range = [lab for lab, a, b, c, d in zip(labels, pmin, pmax, dmin, dmax) if a == b or c >= d]
    if bad_range:
        raise EegInputError(f"{name}: the {what} header gives an empty physical or digital range "
                            f"for {', '.join(bad_range)}, so its values cannot be scaled (damaged)")
    data_bytes = size - hdr_bytes
    complete = data_bytes // header.record_bytes
    if n_records == -1:     # allowed while recording (EDF spec): count from the file size
        header.n_records = int(complete)
        header.warnings.append(f"the header's record count was -1 (file not closed by the "
                               f"recorder); {complete} records read from the file size")
    elif complete < n_records:
        raise EegInputError(
            f"{name} is truncated: its header says {n_records} records of {record_s:g} s "
            f"({n_records * record_s:g} s) but the file holds only {complete} complete records "
            f"({complete * record_s:g} s). Copy the file again from the EEG system.")
    elif complete > n_records:
        # MNE reads what the file holds (a recorder that did not update the header on stop).
        header.warnings.append(
            f"the file holds {complete} records but its header says {n_records}; all "
            f"{complete * record_s:g} s were read (the header was probably not updated when the "
            "recording stopped)")
        header.n_records = int(complete)
    if header.n_records <= 0:
        raise EegInputError(f"{name} holds no data records (header only)")
    if reserved.startswith("EDF+D"):
        _check_discontinuous(p, header, name)
    return header


def _check_discontinuous(path: Path, header: EdfHeader, name: str) -> None:
    """EDF+D may leave gaps between records (their start times are in each record's first TAL).
    MNE reads the records back to back, which would shift every later sample and marker, so a
    file with a gap is refused; one without gaps is read with a warning."""
    labels = [lab.strip() for lab in header.labels]
    if "EDF Annotations" not in labels:
        raise EegInputError(f"{name} is EDF+D (discontinuous) but has no annotation signal giving "
                            "the records' start times; export it as continuous EDF+C")
    k = labels.index("EDF Annotations")
    offset = sum(header.samples_per_record[:k]) * header.bytes_per_sample
    size = header.samples_per_record[k] * header.bytes_per_sample
    with open(path, "rb") as f:
        for r in range(header.n_records):
            f.seek(header.header_bytes + r * header.record_bytes + offset)
            stamp = f.read(size).split(b"\x14", 1)[0]
            try:
                onset = float(stamp.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise EegInputError(f"{name}: record {r + 1} of this EDF+D file has no readable start "
                                    "time (damaged annotation signal)") from None
            if abs(onset - r * header.record_s) > 1e-3:
                raise EegInputError(
                    f"{name} is EDF+D (discontinuous) with a gap: record {r + 1} starts at "
                    f"{onset:g} s instead of {r * header.record_s:g} s. tmsnav needs continuous "
                    "data: export each continuous block as its own EDF+C file.")
    header.warnings.append("the file is marked EDF+D (discontinuous) but its records follow "
                           "each other without gaps: read as continuous")
