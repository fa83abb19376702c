"""`tmsnav --help` lists every tracker spec form, each one real, and points to tmsnav-emulate."""

from tmsnav.app.main import TRACKER_SPEC_EXAMPLES, build_parser
from tmsnav.hardware.config import KINDS, TrackerConfig, tracker_factory
from tmsnav.hardware.simulation.scenario_library import SCENARIO_NAMES


def test_help_lists_every_kind_every_scenario_and_the_emulator():
    text = build_parser().format_help()
    for kind in KINDS:
        assert f"\n  {kind}:" in text or f"\n  {kind}\n" in text, kind
    for form in ("?model=", "sim:SCENARIO", "replay:", "socket://", "&tools="):
        assert form in text, form
    assert all(name in text for name in SCENARIO_NAMES)
    assert "tmsnav-emulate ndi" in text and "port list offers running emulators" in text


def test_every_example_in_the_help_is_a_spec_that_builds_a_driver():
    for spec, _ in TRACKER_SPEC_EXAMPLES:
        if spec == "sim:SCENARIO":
            spec = f"sim:{SCENARIO_NAMES[0]}"
        cfg = TrackerConfig.parse(spec)
        tracker_factory(cfg)        # options are valid for their kind (no port is opened)
    pivot = tracker_factory(TrackerConfig.parse("sim:pivot?duration_s=3&rate=40"))()
    assert pivot.nominal_rate_hz == 40.0
