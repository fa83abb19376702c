"""Eyes-closed / eyes-open segments from a recording's annotations.

Resting-state protocols alternate or separate eyes-closed (EC) and eyes-open (EO) blocks and the
technician marks each start. Labels vary between systems and sites: ``eyes closed``,
``Eyes Closed``, ``EC``, ``eyes_closed``, BrainVision's ``Comment/EC`` (type/description),
``EEG Eyes Open``. A marker without a duration starts a block that lasts until the next
condition marker or the end of the recording; a marker with a duration of 1 s or more (EDF+ TAL,
BrainVision with a length) covers that span, cut short by a following marker (BrainVision's
one-sample markers are point markers). Other annotations (blinks, impedance checks) do not end a
block.
"""

from __future__ import annotations

import re

__all__ = ["condition_of", "condition_segments"]

# A marker shorter than this is a point marker (BrainVision writes 1 sample), not a block's span.
_MIN_SPAN_S = 1.0
_EC = {"eyes closed", "ec", "eyes close", "closed eyes", "eye closed", "eyes shut", "closed",
       "rest ec", "resting ec", "resting eyes closed", "rest eyes closed", "ec start",
       "eyes closed start", "start eyes closed", "start ec", "augen zu"}
_EO = {"eyes open", "eo", "eyes opened", "open eyes", "eye open", "open", "rest eo", "resting eo",
       "resting eyes open", "rest eyes open", "eo start", "eyes open start", "start eyes open",
       "start eo", "augen auf"}


def condition_of(description: str) -> str | None:
    """``"eyes_closed"`` / ``"eyes_open"`` for a condition marker, None for anything else."""
    d = description.strip()
    if "/" in d:                              # BrainVision "Comment/EC", "Stimulus/EO"
        d = d.split("/", 1)[1]
    d = re.sub(r"[_\-:]+", " ", d.lower())
    d = re.sub(r"^(eeg|marker|comment|condition)\s+", "", d)
    d = re.sub(r"\s+", " ", d).strip()
    if d in _EC:
        return "eyes_closed"
    if d in _EO:
        return "eyes_open"
    return None


def condition_segments(annotations: list[tuple[float, float, str]], duration_s: float
                       ) -> dict[str, list[tuple[float, float]]]:
    """Segments per condition, each clipped to ``[0, duration_s]``; empty dict if no markers."""
    markers = sorted((max(0.0, float(onset)), float(dur), cond)
                     for onset, dur, desc in annotations
                     if (cond := condition_of(desc)) is not None and onset < duration_s)
    out: dict[str, list[tuple[float, float]]] = {}
    for i, (onset, dur, cond) in enumerate(markers):
        stop = markers[i + 1][0] if i + 1 < len(markers) else duration_s
        if dur >= _MIN_SPAN_S:
            stop = min(onset + dur, stop)
        if stop > onset:
            out.setdefault(cond, []).append((onset, stop))
    return out
