"""Hold-still detection with known motion (noise, drift, steps, gaps) and the spacing filter."""

import numpy as np
import pytest

from tmsnav.navigation.registration.sampling import HoldStillDetector, SpacedPointCollector

RATE_HZ = 30.0
TIP_NOISE_MM = 0.45      # 3-D RMS of a pointer tip in the reference frame (simulated tracker)


def feed(det, positions, t0=0.0, rate=RATE_HZ):
    """Add samples, returning the state after each one."""
    states = []
    for i, p in enumerate(positions):
        det.add(t0 + i / rate, p)
        states.append(det.state())
    return states


def noisy_still(n, rng, centre=(10.0, -20.0, 30.0), noise=TIP_NOISE_MM):
    return np.asarray(centre) + rng.normal(scale=noise / np.sqrt(3), size=(n, 3))


def test_still_tip_with_tracker_noise_is_detected_after_the_window():
    rng = np.random.default_rng(1)
    det = HoldStillDetector()
    states = feed(det, noisy_still(60, rng))
    first = next(i for i, s in enumerate(states) if s.still)
    # needs the 1 s window plus the 0.25 s low-pass start-up, no more than a frame or two later
    assert 1.25 * RATE_HZ - 1 <= first <= 1.25 * RATE_HZ + 3
    assert all(s.still for s in states[first:])
    assert states[-1].motion_mm < 0.5
    np.testing.assert_allclose(det.held_point(), [10, -20, 30], atol=0.2)


def test_jittered_gui_ticks_still_reach_the_full_window():
    """GUI timer ticks are never exactly 1/30 s apart: the hold must still complete."""
    rng = np.random.default_rng(7)
    det = HoldStillDetector()
    t = np.arange(60) / RATE_HZ + rng.uniform(0.0, 0.012, 60)
    for ti, p in zip(t, noisy_still(60, rng)):
        det.add(ti, p)
    state = det.state()
    assert state.still and state.held_s == pytest.approx(1.0)


def test_noise_never_looks_still_enough_before_a_full_window():
    rng = np.random.default_rng(2)
    det = HoldStillDetector()
    states = feed(det, noisy_still(30, rng))        # 1.0 s of samples < window + smoothing
    assert not any(s.still for s in states)
    assert 0.5 < states[-1].held_s <= 1.0


@pytest.mark.parametrize("speed_mm_s, still", [(0.0, True), (0.3, True), (2.0, False),
                                               (20.0, False)])
def test_slow_drift_passes_fast_drift_does_not(speed_mm_s, still):
    rng = np.random.default_rng(3)
    t = np.arange(60) / RATE_HZ
    drift = np.outer(t * speed_mm_s, [1.0, 0.0, 0.0])
    det = HoldStillDetector()
    states = feed(det, noisy_still(60, rng) + drift)
    assert states[-1].still is still


def test_a_1mm_step_restarts_the_hold():
    rng = np.random.default_rng(4)
    det = HoldStillDetector()
    pts = noisy_still(110, rng)
    pts[45:] += [0.0, 1.0, 0.0]                     # the hand slips 1 mm at t = 1.5 s
    states = feed(det, pts)
    assert states[44].still
    assert not states[50].still                     # the slip is seen within a few frames
    assert 0.4 < states[75].held_s < 1.0            # 1 s after the slip: held again, not long enough
    assert not states[75].still
    assert states[-1].still                         # 2.2 s after: a new hold is complete


def test_gap_or_missing_sample_restarts_the_hold():
    rng = np.random.default_rng(5)
    det = HoldStillDetector()
    feed(det, noisy_still(50, rng))
    assert det.state().still
    det.add(50 / RATE_HZ, None)                     # the reference was occluded
    assert not det.state().still and det.state().held_s == 0.0
    det2 = HoldStillDetector()
    feed(det2, noisy_still(50, rng))
    det2.add(50 / RATE_HZ + 0.5, (10.0, -20.0, 30.0))   # 0.5 s without samples
    assert not det2.state().still


def test_one_hold_gives_one_capture_until_the_tip_moves_away():
    rng = np.random.default_rng(6)
    det = HoldStillDetector(rearm_distance_mm=5.0)
    states = feed(det, noisy_still(50, rng))
    assert states[-1].still
    det.mark_captured(det.held_point())
    states = feed(det, noisy_still(60, rng), t0=50 / RATE_HZ)
    assert not any(s.still for s in states) and not states[-1].armed
    # move 30 mm to the next landmark and hold there: armed again, then still
    path = np.linspace([10, -20, 30], [40, -20, 30], 15)
    feed(det, path, t0=110 / RATE_HZ)
    assert det.armed
    states = feed(det, noisy_still(50, rng, centre=(40, -20, 30)), t0=125 / RATE_HZ)
    assert states[-1].still
    np.testing.assert_allclose(det.held_point(), [40, -20, 30], atol=0.25)


def test_detector_rejects_bad_settings_and_bad_points():
    with pytest.raises(ValueError):
        HoldStillDetector(window_s=0)
    with pytest.raises(ValueError):
        HoldStillDetector(smoothing_s=2.0)
    det = HoldStillDetector()
    det.add(0.0, [np.nan, 0, 0])
    assert det.state().held_s == 0.0 and det.held_point() is None


def test_spacing_filter_keeps_points_at_least_3mm_apart():
    col = SpacedPointCollector(min_spacing_mm=3.0)
    # a sweep along x at 0.5 mm per sample, then back over the same line
    line = np.column_stack([np.arange(0, 30.01, 0.5), np.zeros(61), np.zeros(61)])
    kept = [col.offer(p) for p in np.vstack([line, line[::-1]])]
    pts = col.points
    assert sum(kept) == len(pts) == 11                  # 0, 3, 6, ..., 30
    np.testing.assert_allclose(pts[:, 0], np.arange(0, 31, 3.0))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2) + np.eye(len(pts)) * 99
    assert d.min() >= 3.0
    assert col.rejected_close == 122 - 11


def test_spacing_filter_cap_nan_and_undo():
    col = SpacedPointCollector(min_spacing_mm=1.0, max_points=5)
    assert not col.offer([np.nan, 0, 0])
    for i in range(10):
        col.offer([i * 2.0, 0, 0])
    assert len(col) == 5 and col.full
    col.remove_last(2)
    assert len(col) == 3
    np.testing.assert_allclose(col.points[-1], [4.0, 0, 0])
    col.clear()
    assert len(col) == 0 and col.rejected_close == 0
    with pytest.raises(ValueError):
        SpacedPointCollector(min_spacing_mm=-1)


def test_a_short_tracking_gap_keeps_the_hold_and_a_long_loss_restarts_it():
    from tmsnav.navigation.registration.sampling import TrackingGap

    gap = TrackingGap(limit_s=0.25)
    assert not gap.too_long(True, 10.0)
    assert not gap.too_long(False, 10.00)      # a late pose on a busy machine
    assert not gap.too_long(False, 10.20)
    assert not gap.too_long(True, 10.21)       # back: the count goes on
    assert not gap.too_long(False, 11.0)
    assert gap.too_long(False, 11.26)          # lost 0.26 s: the tip may have been lifted
    assert gap.too_long(False, 12.0)
    assert not gap.too_long(True, 12.1) and not gap.too_long(False, 12.2)   # a new gap starts at 0
