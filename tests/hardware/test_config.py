"""Tracker specs from the command line / GUI become the right drivers with the right options."""

import pytest

from tmsnav.hardware.config import TrackerConfig, tracker_factory


def test_parse_specs():
    c = TrackerConfig.parse("ndi:socket://10.0.0.5:8765?format=tx&baud=921600")
    assert (c.kind, c.port, c.reply_format, c.baud) == ("ndi", "socket://10.0.0.5:8765", "TX", 921600)
    c = TrackerConfig.parse("polhemus:/dev/ttyS0?model=Liberty")
    assert (c.kind, c.port, c.model) == ("polhemus", "/dev/ttyS0", "liberty")
    assert TrackerConfig.parse("sim").port == ""
    assert "OpenIGTLink" in TrackerConfig.parse("igtl:localhost:18944").describe()


@pytest.mark.parametrize("spec", ["ndi", "polhemus:", "kinect:/dev/x"])
def test_bad_specs_are_explained(spec):
    with pytest.raises(ValueError, match="needs a port|unknown tracker kind"):
        TrackerConfig.parse(spec)


def test_sim_scenario_options_reach_the_simulator():
    tracker = tracker_factory(TrackerConfig.parse("sim:pivot?duration_s=3&rate=40"))()
    assert tracker.nominal_rate_hz == 40.0
    assert dict((p, b - a) for p, a, b in tracker.scenario.phases())["pivoting"] == pytest.approx(3.0)
    sweep = tracker_factory(TrackerConfig.parse("sim:scalp_sweep?n_points=12&hold_s=0.2"))()
    assert sum(1 for p, _, _ in sweep.scenario.phases() if p.startswith("sweep point")) == 12
    with pytest.raises(ValueError, match="does not take option"):
        tracker_factory(TrackerConfig.parse("sim:pivot?bogus=1"))()


def test_polhemus_station_names_in_the_spec_and_mistakes_explained():
    cfg = TrackerConfig.parse("polhemus:/dev/ttyS0?model=patriot&tools=reference,coil")
    assert cfg.tool_names == {"1": "reference", "2": "coil"} and cfg.model == "patriot"
    for bad in ("polhemus:/dev/ttyS0?tools=coil,coil", "polhemus:/dev/ttyS0?tools=reference,,coil",
                "ndi:/dev/ttyUSB0?tools=reference"):
        with pytest.raises(ValueError, match="names Polhemus stations 1, 2"):
            TrackerConfig.parse(bad)


@pytest.mark.parametrize("spec", ["ndi:/dev/ttyUSB0", "polhemus:/dev/ttyS0?model=liberty",
                                  "igtl:localhost:18944", "replay:/tmp/x.jsonl", "sim:pivot"])
def test_every_factory_pickles_so_the_driver_can_run_in_a_child_process(spec):
    """Acquisition(isolation='process') needs a picklable make_tracker; lambdas were not."""
    import pickle

    from tmsnav.hardware.acquisition.core import Acquisition

    factory = tracker_factory(TrackerConfig.parse(spec))
    pickle.dumps(factory)
    Acquisition(factory, isolation="process")      # refused with a ValueError before
