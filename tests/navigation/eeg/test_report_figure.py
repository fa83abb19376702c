"""The report figure's topomap: left is left, front is up, and a value planted at one electrode is
drawn there."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tmsnav.navigation.eeg.measures import compute_measures
from tmsnav.navigation.eeg.report_figure import draw_topomap, region_of, report_figure, topomap_xy
from tmsnav.navigation.eeg.rules import assess
from tmsnav.navigation.eeg.synthetic import ChannelSpec, Peak, make_clean

CH19 = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
        "P7", "P3", "Pz", "P4", "P8", "O1", "O2"]


def test_layout_left_is_left_front_is_up_and_everything_inside_the_head():
    xy = topomap_xy(CH19)
    assert xy["F3"][0] < -0.2 and xy["F4"][0] > 0.2 and xy["T7"][0] < -0.8 and xy["T8"][0] > 0.8
    assert xy["Fz"][1] > 0.3 and xy["O1"][1] < -0.6 and abs(xy["Cz"]).max() < 0.05
    assert max(np.hypot(*p) for p in xy.values()) < 1.0
    assert np.allclose(xy["F3"] * [-1, 1], xy["F4"], atol=0.05)         # mirror images


def test_a_value_planted_at_f3_is_drawn_on_the_left_front():
    fig = Figure(figsize=(4, 4), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    values = {ch: 0.0 for ch in CH19}
    values["F3"] = 1.0
    draw_topomap(ax, values, "", "", "Reds")
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[..., :3].astype(float)
    red = (img[..., 0] > 150) & (img[..., 1] < 100) & (img[..., 2] < 100)
    ys, xs = np.nonzero(red)
    assert len(xs) > 50
    # data -> pixel: the hot spot sits where F3 is drawn
    px, py = ax.transData.transform(topomap_xy(["F3"])["F3"])
    assert abs(np.median(xs) - px) < 25 and abs(np.median(img.shape[0] - ys) - py) < 25
    assert np.median(xs) < img.shape[1] / 2 and np.median(ys) < img.shape[0] / 2    # left, front (up)


def test_regions():
    assert [region_of(c) for c in ("Fp1", "F3", "FC3", "C3", "T7", "FT7", "P3", "CP1", "O1", "PO3")] == [
        "frontal", "frontal", "central", "central", "temporal", "temporal", "parietal", "parietal", "occipital",
        "occipital"]


def test_report_figure_renders_with_a_missing_band_and_no_suggestion():
    specs = {c: ChannelSpec(slope=1.5, peaks=[Peak(10.0, 5e-12, 0.8)]) for c in CH19}
    from tmsnav.navigation.eeg.spectra import Bands
    m = compute_measures(make_clean(specs, duration_s=60), Bands.parse("theta=4-8,beta=13-30"))
    fig = report_figure(m, assess(m))
    FigureCanvasAgg(fig).draw()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("not in the band table" in t for t in texts)            # no alpha band: said, not faked
    assert any("No site suggested" in t for t in texts)
