"""The NDI driver reports the model in use (from VER:0) and warns when a serial link is too slow."""

import pytest

from tmsnav.hardware.ndi import NDIEmulator, NDITracker
from tmsnav.hardware.ndi.driver import model_of


@pytest.mark.parametrize("model", ["vega", "spectra", "vicra", "aurora"])
def test_the_model_in_use_comes_from_the_device(model):
    emulator = NDIEmulator(model=model)
    tracker = NDITracker(emulator.serve_pty(), nominal_rate_hz=emulator.device.rate_hz)
    try:
        tracker.connect()
        assert tracker.device_model == model
        assert tracker.link_warning == ""        # a pty has no baud limit
    finally:
        tracker.close()
        emulator.stop()


def test_model_of_unknown_text_is_empty_not_a_guess():
    assert model_of("Polaris Vega Control Firmware\nNDI S/N: X") == "vega"
    assert model_of("Some Other Tracker\nPolaris mentioned on line 2") == ""


def test_a_serial_link_too_slow_for_four_tools_at_250_hz_is_warned():
    emulator = NDIEmulator(tools=("reference", "pointer", "coil", "coil2"))
    tracker = NDITracker(emulator.serve_pty(), nominal_rate_hz=250.0)
    try:
        tracker.connect()
        assert tracker._link is not None
        tracker._link.is_pty = False               # as on a real RS-232 port at 115200 baud
        tracker._check_link()
        text, carried = tracker.link_warning, tracker.link_rate_hz
        tracker.reply_format = "TX"
        tracker._check_link()
        text_tx = tracker.link_warning
        tracker._nominal_rate_hz = 60.0
        tracker.reply_format = "BX"
        tracker._check_link()
        slow_ok, slow_carried = tracker.link_warning, tracker.link_rate_hz
    finally:
        tracker.close()
        emulator.stop()
    # BX reply with 4 valid tools: 6 header + 1 count + 4 x (2 + 32 + 8) + 2 status + 2 CRC = 179 bytes
    assert text.startswith("NDI vega at 250 Hz needs 447500 baud (4 tools x BX replies of 179 bytes)")
    assert "the link is 115200 baud" in text and "lower the rate to 64 Hz or less" in text
    assert "needs" in text_tx and int(text_tx.split("needs ")[1].split()[0]) > 447500   # TX is longer
    assert slow_ok == ""                                                               # 107400 baud
    assert abs(carried - 115200 / 1790) < 1e-9 and slow_carried == 0.0   # 64.4 Hz get through
