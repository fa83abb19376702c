"""The link-budget sentence: silent when the baud rate carries the stream, else cause and remedy."""

from tmsnav.hardware.link_budget import link_warning, needed_baud


def test_a_stream_within_the_baud_rate_gives_no_warning():
    assert link_warning("NDI vega", 179, 60, 115200) == ""        # 107 400 baud needed
    assert needed_baud(179, 60) == 107400


def test_one_byte_over_is_warned_and_the_remedy_carries_the_stream():
    text = link_warning("NDI vega", 179, 250, 115200, "4 tools")
    assert text.startswith("NDI vega at 250 Hz needs 447500 baud (4 tools); the link is 115200")
    assert "lower the rate to 64 Hz or less" in text              # 64 Hz x 1790 bit = 114 560
    assert needed_baud(179, 64) <= 115200 < needed_baud(179, 65)
    assert "at 460800 baud" in text


def test_no_standard_rate_is_enough_then_usb_or_ethernet():
    assert link_warning("X", 1000, 400, 115200).endswith("connect by USB or Ethernet")


def test_nonsense_inputs_do_not_invent_a_warning():
    assert link_warning("X", 0, 60, 115200) == "" and link_warning("X", 100, 60, 0) == ""
