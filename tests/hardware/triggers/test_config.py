"""Pulse-source spec strings: each form builds the right source with the right settings, and each
plausible mistake is refused with a message that says what to write instead."""

import os
import queue
import tty

import pytest

from tmsnav.hardware.triggers.config import PulseSourceConfig, parse_emg_spec
from tmsnav.hardware.triggers.key_source import KeySource
from tmsnav.hardware.triggers.lsl_markers import LslMarkerSource
from tmsnav.hardware.triggers.modem_lines import ModemLineSource
from tmsnav.hardware.triggers.ttl_serial import TtlSerialSource


def test_ttl_defaults_and_options():
    source = PulseSourceConfig.parse("ttl:/dev/ttyUSB0").make()
    assert isinstance(source, TtlSerialSource)
    assert source.port == "/dev/ttyUSB0" and source.pulse_bytes == {0x01} and source.baud == 115200
    source = PulseSourceConfig.parse("ttl:COM4?byte=0x31,50&baud=9600").make()
    assert source.port == "COM4" and source.pulse_bytes == {0x31, 0x32} and source.baud == 9600


def test_modem_line_edge_debounce_and_rate():
    cfg = PulseSourceConfig.parse("modem:/dev/ttyS0:dsr?edge=falling&debounce_ms=5&poll_hz=2000")
    source = cfg.make()
    assert isinstance(source, ModemLineSource)
    assert (source.port, source.line, source.edge) == ("/dev/ttyS0", "DSR", "falling")
    assert source.debounce_s == pytest.approx(0.005) and source.poll_hz == 2000.0
    assert source.name == "modem:DSR"
    windows = PulseSourceConfig.parse("modem:COM3:DCD").make()
    assert (windows.port, windows.line, windows.edge) == ("COM3", "CD", "rising")
    assert "CD of COM3" in PulseSourceConfig.parse("modem:COM3:CD").describe()


def test_lsl_name_type_match_and_source_id():
    source = PulseSourceConfig.parse("lsl:TMS-markers?match=pulse&source_id=rig-a&timeout_s=1.5").make()
    assert isinstance(source, LslMarkerSource)
    assert source.choice.name == "TMS-markers" and source.choice.source_id == "rig-a"
    assert source.match == "pulse" and source.resolve_timeout_s == 1.5
    by_type = PulseSourceConfig.parse("lsl:?type=Markers").make()
    assert by_type.choice.name is None and by_type.choice.stream_type == "Markers"


def test_key_default_and_interval():
    source = PulseSourceConfig.parse("key").make()
    assert isinstance(source, KeySource) and source.key == "F8" and source.min_interval_s == 0.2
    source = PulseSourceConfig.parse("key:PageDown?min_interval_ms=300").make()
    assert source.key == "PageDown" and source.min_interval_s == pytest.approx(0.3)


@pytest.mark.parametrize("spec, words", [
    ("serial:/dev/ttyUSB0", "unknown pulse source 'serial'"),
    ("ttl", "needs the adapter's serial port"),
    ("ttl:/dev/ttyUSB0?bytes=0x02", "no option bytes"),              # a typo must not keep the default byte
    ("ttl:/dev/ttyUSB0?byte=0x100", "0-255"),
    ("ttl:/dev/ttyUSB0?byte=one", "a number 0-255"),
    ("ttl:/dev/ttyUSB0?baud=fast", "baud='fast' is not a number"),
    ("modem:/dev/ttyS0", "needs the port and the line"),
    ("modem:/dev/ttyS0:RTS", "needs the port and the line"),          # RTS is an output, not a status input
    ("modem:/dev/ttyS0:CTS?edge=up", "choose rising, falling or both"),
    ("modem:/dev/ttyS0:CTS?debounce=2", "no option debounce"),
    ("lsl", "needs the marker stream's name"),
    ("key?interval=3", "no option interval"),
])
def test_mistakes_are_refused_with_a_correct_example(spec, words):
    with pytest.raises(ValueError, match=words) as err:
        PulseSourceConfig.parse(spec)
    assert "e.g." in str(err.value) or "choose" in str(err.value) or "0-255" in str(err.value)


def test_out_of_range_settings_are_refused_when_made():
    with pytest.raises(ValueError, match="poll rate"):
        PulseSourceConfig.parse("modem:/dev/ttyS0:CTS?poll_hz=0").make()
    with pytest.raises(ValueError, match="baud"):
        PulseSourceConfig.parse("ttl:/dev/ttyUSB0?baud=-5").make()


def test_a_parsed_ttl_spec_delivers_pulses_over_a_pty():
    master, slave = os.openpty()
    tty.setraw(slave)
    pulses = queue.Queue()
    source = PulseSourceConfig.parse(f"ttl:{os.ttyname(slave)}?byte=0x54").make()
    try:
        source.start(pulses.put)
        os.write(master, b"T\x01T")
        assert [pulses.get(timeout=10.0).sequence for _ in range(2)] == [1, 2]
        assert source.stats.ignored == {"unexpected byte": 1}
    finally:
        source.stop()
        os.close(master)
        os.close(slave)


def test_emg_spec():
    assert parse_emg_spec("emg:EMG-amp?channel=FDI&unit=uV") == {"name": "EMG-amp", "channel": "FDI", "unit": "uV"}
    assert parse_emg_spec("emg:?type=EMG&channel=2&capacity_s=30") == {
        "name": None, "stream_type": "EMG", "channel": 2, "capacity_s": 30.0}
    for spec, words in (("lsl:EMG", "starts with 'emg:'"), ("emg:", "needs the EMG stream's name"),
                        ("emg:x?units=uV", "no option units"), ("emg:x?capacity_s=long", "not a number")):
        with pytest.raises(ValueError, match=words):
            parse_emg_spec(spec)


def test_the_pulse_sources_box_takes_settings_after_a_question_mark():
    from tmsnav.app.treatment.pulse_sources_box import make_source

    ttl = make_source("ttl", "/dev/ttyUSB0?byte=0x31&baud=9600", lambda problem: None)
    assert isinstance(ttl, TtlSerialSource) and ttl.pulse_bytes == {0x31} and ttl.baud == 9600
    modem = make_source("modem", "/dev/ttyS0:DSR?edge=falling", lambda problem: None)
    assert (modem.line, modem.edge) == ("DSR", "falling")
    assert make_source("lsl", "?type=Markers", lambda problem: None).choice.stream_type == "Markers"
    with pytest.raises(ValueError, match="no option bytes"):
        make_source("ttl", "/dev/ttyUSB0?bytes=0x31", lambda problem: None)
