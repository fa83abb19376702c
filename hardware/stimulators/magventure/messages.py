"""MagPro message ids, the status byte, and the payloads of every message tmsnav sends or reads.

Source: the MagPro serial protocol description (MagVenture, MagPro R30/X100 host interface on
port COM2, 38400 bps 8N1) as quoted by independent open host libraries that agree on ids 0-5;
ids 7, 8, 9 and the MEP message 4 come from fewer sources. None of it was checked on a physical
unit for tmsnav: docs/treatment.md says so.

Host -> unit commands (payload, id first):

====  ==========================  ==============================================
id    command                     payload
====  ==========================  ==============================================
0     get status                  ``00``
1     set amplitude               ``01 A`` or ``01 A B`` (percent of maximum output)
2     enable / disable            ``02 01`` / ``02 00``
3     fire one pulse              ``03`` (some hosts send ``03 01``)
4     start train / protocol      ``04``
5     get status 2                ``05``
7     set page                    ``07 page 00``
9     get mode                    ``09 00`` (``09 01 ...`` sets it; tmsnav never does)
====  ==========================  ==============================================

Unit -> host messages:

====  ===================================  ====================================================
id    when                                 payload after the id
====  ===================================  ====================================================
0     reply to get status                  status, serial (3 bytes big-endian), coil temperature
                                           (degC), coil type, amplitude A, amplitude B
5     reply to get status 2                as id 0, then original amplitude A, B, amplitude
                                           factor A, B (percent), page, train running (0/1)
1     amplitude changed (set or panel)     amplitude A, amplitude B, status
2     pulse / train delivered              realised dI/dt A, dI/dt B (A/us), status
3     enabled/disabled, coil changed       coil temperature (degC), coil type, status
4     MEP from the unit's MEP page         max (uV, int32 BE), min (uV, int32 BE), time of max (us)
8     page changed / train running         page, train running (0/1), status
9     reply to get mode                    set flag, model, mode, direction, waveform, burst
                                           index, inter-pulse interval (2 bytes), B/A ratio index
====  ===================================  ====================================================

Status byte: bits 0-1 mode (Standard, Power, Twin, Dual), bits 2-3 waveform (Monophasic,
Biphasic, Half sine, Biphasic burst), bit 4 enabled, bits 5-7 model (R30, X100, R30+Option,
X100+Option, R30+Option+Mono, MST).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GET_STATUS", "SET_AMPLITUDE", "SET_ENABLED", "FIRE", "START_TRAIN", "GET_STATUS2", "SET_PAGE",
           "GET_MODE", "AMPLITUDE_CHANGED", "PULSE_DELIVERED", "ENABLE_CHANGED", "MEP_RESULT", "PAGE_CHANGED",
           "MODES", "WAVEFORMS", "MODELS", "PAGES", "StatusByte", "MagProStatus", "MagProStatus2", "AmplitudeChanged",
           "PulseDelivered", "EnableChanged", "MepResult", "PageChanged", "ModeInfo", "MessageError",
           "decode_message", "cmd_get_status", "cmd_set_amplitude", "cmd_set_enabled", "cmd_fire", "cmd_start_train",
           "cmd_get_status2", "cmd_set_page", "cmd_get_mode", "REPLY_LENGTHS", "COMMAND_LENGTHS"]

# host -> unit
GET_STATUS, SET_AMPLITUDE, SET_ENABLED, FIRE, START_TRAIN, GET_STATUS2, SET_PAGE, GET_MODE = 0, 1, 2, 3, 4, 5, 7, 9
# unit -> host (1-4 and 8 are pushed unsolicited; 0, 5, 9 are replies)
AMPLITUDE_CHANGED, PULSE_DELIVERED, ENABLE_CHANGED, MEP_RESULT, PAGE_CHANGED = 1, 2, 3, 4, 8

MODES = ("Standard", "Power", "Twin", "Dual")
WAVEFORMS = ("Monophasic", "Biphasic", "Half sine", "Biphasic burst")
MODELS = ("R30", "X100", "R30+Option", "X100+Option", "R30+Option+Mono", "MST")
PAGES = {1: "Main", 2: "Timing", 3: "Trigger", 4: "Configure", 6: "Download", 7: "Protocol", 8: "MEP",
         13: "Service", 15: "Treatment", 16: "Treatment select"}

#: payload length (id included) of each unit -> host message
REPLY_LENGTHS = {GET_STATUS: 9, AMPLITUDE_CHANGED: 4, PULSE_DELIVERED: 4, ENABLE_CHANGED: 4, MEP_RESULT: 13,
                 GET_STATUS2: 15, PAGE_CHANGED: 4, GET_MODE: 10}
#: payload lengths (id included) a unit accepts for each host -> unit command
COMMAND_LENGTHS = {GET_STATUS: (1,), SET_AMPLITUDE: (2, 3), SET_ENABLED: (2,), FIRE: (1, 2), START_TRAIN: (1,),
                   GET_STATUS2: (1,), SET_PAGE: (2, 3), GET_MODE: (2, 11)}


class MessageError(ValueError):
    """A frame whose payload is not a message this protocol defines (unknown id, wrong length)."""


@dataclass(frozen=True)
class StatusByte:
    mode: int = 0          # index into MODES
    waveform: int = 1      # index into WAVEFORMS
    enabled: bool = False
    model: int = 0         # index into MODELS

    def encode(self) -> int:
        return (self.mode & 3) | (self.waveform & 3) << 2 | int(self.enabled) << 4 | (self.model & 7) << 5

    @classmethod
    def decode(cls, byte: int) -> "StatusByte":
        return cls(byte & 3, byte >> 2 & 3, bool(byte >> 4 & 1), byte >> 5 & 7)

    @property
    def mode_name(self) -> str:
        return MODES[self.mode]

    @property
    def waveform_name(self) -> str:
        return WAVEFORMS[self.waveform]

    @property
    def model_name(self) -> str:
        return MODELS[self.model] if self.model < len(MODELS) else f"model {self.model}"


@dataclass(frozen=True)
class MagProStatus:
    """Reply to get status (id 0)."""

    status: StatusByte
    serial_number: int
    coil_temperature_c: int
    coil_type: int
    amplitude_a_pct: int
    amplitude_b_pct: int

    def encode(self) -> bytes:
        s = self.serial_number
        return bytes([GET_STATUS, self.status.encode(), s >> 16 & 255, s >> 8 & 255, s & 255,
                      self.coil_temperature_c, self.coil_type, self.amplitude_a_pct, self.amplitude_b_pct])


@dataclass(frozen=True)
class MagProStatus2:
    """Reply to get status 2 (id 5): status plus original amplitudes, amplitude factors (percent),
    the page shown on the unit and whether a train/protocol is running."""

    base: MagProStatus
    original_a_pct: int
    original_b_pct: int
    factor_a_pct: int
    factor_b_pct: int
    page: int
    train_running: bool

    def encode(self) -> bytes:
        return bytes([GET_STATUS2]) + self.base.encode()[1:] + bytes(
            [self.original_a_pct, self.original_b_pct, self.factor_a_pct, self.factor_b_pct, self.page,
             int(self.train_running)])

    @property
    def page_name(self) -> str:
        return PAGES.get(self.page, f"page {self.page}")


@dataclass(frozen=True)
class AmplitudeChanged:
    amplitude_a_pct: int
    amplitude_b_pct: int
    status: StatusByte

    def encode(self) -> bytes:
        return bytes([AMPLITUDE_CHANGED, self.amplitude_a_pct, self.amplitude_b_pct, self.status.encode()])


@dataclass(frozen=True)
class PulseDelivered:
    """A pulse (or train pulse) left the coil; dI/dt is what the unit measured, in A/us."""

    didt_a: int
    didt_b: int
    status: StatusByte

    def encode(self) -> bytes:
        return bytes([PULSE_DELIVERED, self.didt_a, self.didt_b, self.status.encode()])


@dataclass(frozen=True)
class EnableChanged:
    coil_temperature_c: int
    coil_type: int
    status: StatusByte

    def encode(self) -> bytes:
        return bytes([ENABLE_CHANGED, self.coil_temperature_c, self.coil_type, self.status.encode()])


@dataclass(frozen=True)
class MepResult:
    """The unit's own MEP measurement (MEP page): extremes in uV and when the maximum came, in us
    after the pulse. Read as signed 32-bit so a negative minimum stays negative."""

    max_uv: int
    min_uv: int
    max_time_us: int

    @property
    def peak_to_peak_uv(self) -> int:
        return self.max_uv - self.min_uv

    def encode(self) -> bytes:
        return bytes([MEP_RESULT]) + b"".join(v.to_bytes(4, "big", signed=True)
                                              for v in (self.max_uv, self.min_uv, self.max_time_us))


@dataclass(frozen=True)
class PageChanged:
    page: int
    train_running: bool
    status: StatusByte

    def encode(self) -> bytes:
        return bytes([PAGE_CHANGED, self.page, int(self.train_running), self.status.encode()])


@dataclass(frozen=True)
class ModeInfo:
    """Reply to get mode (id 9)."""

    model: int
    mode: int
    current_direction: int   # 0 normal, 1 reverse
    waveform: int
    burst_index: int
    ipi_index: int
    ba_ratio_index: int

    def encode(self) -> bytes:
        return bytes([GET_MODE, 0, self.model, self.mode, self.current_direction, self.waveform, self.burst_index,
                      self.ipi_index >> 8 & 255, self.ipi_index & 255, self.ba_ratio_index])


Message = MagProStatus | MagProStatus2 | AmplitudeChanged | PulseDelivered | EnableChanged | MepResult | \
    PageChanged | ModeInfo


def decode_message(payload: bytes) -> Message:
    """Decode one unit -> host payload; :class:`MessageError` for an unknown id or wrong length."""
    if not payload:
        raise MessageError("empty payload")
    mid, n = payload[0], len(payload)
    want = REPLY_LENGTHS.get(mid)
    if want is None:
        raise MessageError(f"unknown MagPro message id {mid}")
    if n != want:
        raise MessageError(f"MagPro message {mid} has {n} payload bytes, expected {want}")
    p = payload
    if mid in (GET_STATUS, GET_STATUS2):
        base = MagProStatus(StatusByte.decode(p[1]), p[2] << 16 | p[3] << 8 | p[4], p[5], p[6], p[7], p[8])
        if mid == GET_STATUS:
            return base
        return MagProStatus2(base, p[9], p[10], p[11], p[12], p[13], bool(p[14]))
    if mid == AMPLITUDE_CHANGED:
        return AmplitudeChanged(p[1], p[2], StatusByte.decode(p[3]))
    if mid == PULSE_DELIVERED:
        return PulseDelivered(p[1], p[2], StatusByte.decode(p[3]))
    if mid == ENABLE_CHANGED:
        return EnableChanged(p[1], p[2], StatusByte.decode(p[3]))
    if mid == PAGE_CHANGED:
        return PageChanged(p[1], bool(p[2]), StatusByte.decode(p[3]))
    if mid == MEP_RESULT:
        ints = [int.from_bytes(p[i:i + 4], "big", signed=True) for i in (1, 5, 9)]
        return MepResult(*ints)
    return ModeInfo(p[2], p[3], p[4], p[5], p[6], p[7] << 8 | p[8], p[9])


# ----- host -> unit payloads ------------------------------------------------------------------------------
def _pct(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or not 0 <= value <= 100:
        raise ValueError(f"{name} must be a whole percent 0-100, got {value!r}")
    return int(value)


def cmd_get_status() -> bytes:
    return bytes([GET_STATUS])


def cmd_set_amplitude(a_pct: int, b_pct: int | None = None) -> bytes:
    if b_pct is None:
        return bytes([SET_AMPLITUDE, _pct(a_pct, "amplitude A")])
    return bytes([SET_AMPLITUDE, _pct(a_pct, "amplitude A"), _pct(b_pct, "amplitude B")])


def cmd_set_enabled(enabled: bool) -> bytes:
    return bytes([SET_ENABLED, int(bool(enabled))])


def cmd_fire() -> bytes:
    return bytes([FIRE])


def cmd_start_train() -> bytes:
    return bytes([START_TRAIN])


def cmd_get_status2() -> bytes:
    return bytes([GET_STATUS2])


def cmd_set_page(page: int) -> bytes:
    if page not in PAGES:
        raise ValueError(f"unknown MagPro page {page}; known: {sorted(PAGES)}")
    return bytes([SET_PAGE, page, 0])


def cmd_get_mode() -> bytes:
    return bytes([GET_MODE, 0])
