"""The qEEG report figure (``qeeg_report.png``): topomaps of the key measures, the spectrum of each
scalp region, and the numbers and suggestion in words.

Drawn with ``matplotlib.figure.Figure`` + ``FigureCanvasAgg``, never pyplot, so writing the report
from the CLI or from a worker thread of the app touches no GUI backend.

**Topomap.** Electrodes of MNE's colin27 10-05 template (the same template the 3-D electrode
placement uses) are flattened by an azimuthal equidistant projection about the vertex: the angle
from the vertical becomes the radius, scaled so that the ring Fpz-T7-Oz-T8 (90° from the vertex)
lies at 0.9 of the head circle (T7/T8 sit a little below that ring and must stay inside). Nose up,
the patient's left on the left of the picture (seen from above). Values are interpolated over the
disc with a thin-plate spline (scipy ``RBFInterpolator``) and drawn only inside the head, with the
electrodes marked and labelled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon
from scipy.interpolate import RBFInterpolator

from tmsnav.navigation.eeg.measures import FAA_ALPHA_HZ, V2_TO_UV2, QeegMeasures
from tmsnav.navigation.eeg.norms import NO_NORMATIVE_DATABASE
from tmsnav.navigation.eeg.rules import CONFIDENCE_NOTE, RuleOutcome

__all__ = ["topomap_xy", "draw_topomap", "report_figure", "write_report_png", "REGIONS"]

REGIONS = {"frontal": ("Fp", "AF", "F"), "central": ("FC", "C"), "temporal": ("FT", "T"),
           "parietal": ("CP", "TP", "P"), "occipital": ("PO", "O", "I")}
_REGION_COLOURS = {"frontal": "#1f77b4", "central": "#2ca02c", "temporal": "#9467bd", "parietal": "#ff7f0e",
                   "occipital": "#d62728"}
RING_RADIUS = 0.9
_BAND_SHADES = {"delta": "#eeeeee", "theta": "#e3f2fd", "alpha": "#fff3e0", "beta": "#f1f8e9", "gamma": "#fce4ec"}


def region_of(channel: str) -> str | None:
    """Scalp region of a 10-10 name (longest matching prefix: "FC3" is central, "F3" frontal)."""
    letters = channel.rstrip("0123456789zZh")
    best = None
    for region, prefixes in REGIONS.items():
        for p in prefixes:
            if letters.upper() == p.upper() and (best is None or len(p) > len(best[1])):
                best = (region, p)
    return None if best is None else best[0]


def topomap_xy(names: list[str]) -> dict[str, np.ndarray]:
    """2-D positions (head radius 1, nose +y, patient's left at -x) of the names the template has."""
    from tmsnav.navigation.eeg.electrodes import template_positions_mm

    template = template_positions_mm()
    ring = np.array([template[n] for n in ("Fpz", "T7", "Oz", "T8")])
    centre = ring.mean(axis=0)
    up = np.cross(template["T8"] - template["T7"], template["Fpz"] - template["Oz"])
    up /= np.linalg.norm(up)
    right = template["T8"] - template["T7"]
    right -= up * (right @ up)
    right /= np.linalg.norm(right)
    front = np.cross(up, right)
    out = {}
    for name in names:
        if name not in template:
            continue
        v = template[name] - centre
        x, y, z = v @ right, v @ front, v @ up
        theta = np.arctan2(np.hypot(x, y), z)             # angle from the vertex
        phi = np.arctan2(y, x)
        out[name] = RING_RADIUS * theta / (np.pi / 2) * np.array([np.cos(phi), np.sin(phi)])
    return out


def draw_topomap(ax: Axes, values: dict[str, float], title: str, unit: str, cmap: str = "viridis",
                 symmetric: bool = False) -> None:
    """Interpolated map of per-electrode ``values`` on a head seen from above."""
    xy = topomap_xy(list(values))
    names = [n for n in values if n in xy and np.isfinite(values[n])]
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.2, 1.3)
    if not values:
        ax.text(0, 0, "not in the band table", ha="center", va="center")
        return
    if len(names) < 4:
        ax.text(0, 0, "fewer than 4 electrodes", ha="center", va="center")
        return
    pts = np.array([xy[n] for n in names])
    vals = np.array([values[n] for n in names], dtype=float)
    grid = np.linspace(-1.0, 1.0, 121)
    gx, gy = np.meshgrid(grid, grid)
    inside = gx ** 2 + gy ** 2 <= 1.0
    field = np.full(gx.shape, np.nan)
    field[inside] = RBFInterpolator(pts, vals, kernel="thin_plate_spline", smoothing=0.0)(
        np.column_stack([gx[inside], gy[inside]]))
    lo, hi = float(vals.min()), float(vals.max())
    if symmetric:
        lim = max(abs(lo), abs(hi), 1e-12)
        lo, hi = -lim, lim
    field = np.clip(field, lo, hi)
    image = ax.contourf(gx, gy, field, levels=np.linspace(lo, hi if hi > lo else lo + 1e-12, 13), cmap=cmap)
    ax.add_patch(Circle((0, 0), 1.0, fill=False, lw=1.5))
    ax.add_patch(Polygon([(-0.1, 0.995), (0, 1.12), (0.1, 0.995)], closed=False, fill=False, lw=1.5))
    for side in (-1, 1):
        ax.add_patch(Polygon([(side * 0.995, 0.12), (side * 1.07, 0.1), (side * 1.08, -0.12),
                              (side * 0.995, -0.14)], closed=False, fill=False, lw=1.5))
    ax.plot(pts[:, 0], pts[:, 1], "k.", ms=3)
    for n, (x, y) in zip(names, pts):
        ax.text(x, y + 0.04, n, fontsize=6, ha="center", va="bottom")
    ax.text(-1.2, -1.15, "L", fontsize=9, weight="bold")
    ax.text(1.12, -1.15, "R", fontsize=9, weight="bold")
    ax.figure.colorbar(image, ax=ax, shrink=0.7, label=unit, format="%.3g")


def _region_spectra(ax: Axes, m: QeegMeasures) -> None:
    f = np.asarray(m.freqs_hz)
    keep = (f >= 1.0) & (f <= 45.0)
    for name, (lo, hi) in m.bands_hz.items():
        ax.axvspan(lo, hi, color=_BAND_SHADES.get(name, "#f5f5f5"), zorder=0)
        ax.text((lo + hi) / 2, 0.985, name, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=7)
    for region in REGIONS:
        rows = [i for i, ch in enumerate(m.channels) if region_of(ch) == region]
        if rows:
            psd = V2_TO_UV2 * np.asarray(m.psd_v2_per_hz)[rows].mean(axis=0)
            ax.semilogy(f[keep], psd[keep], color=_REGION_COLOURS[region], lw=1.3,
                        label=f"{region} ({len(rows)} ch)")
    if m.iaf_hz is not None:
        ax.axvline(m.iaf_hz, color="k", ls="--", lw=1, label=f"IAF {m.iaf_hz:.2f} Hz")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (µV²/Hz)")
    ax.set_xlim(1, 45)
    ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.95))
    ax.set_title(f"Spectrum per region (mean of channels, {m.n_epochs} clean epochs, {m.condition.replace('_', ' ')})",
                 fontsize=10)


def _wrap(text: str, width: int = 95, indent: str = "") -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=indent)) if text else ""


def _summary_text(m: QeegMeasures, outcome: RuleOutcome) -> str:
    lines = []
    pick = "—" if m.iaf_peak_pick_hz is None else f"{m.iaf_peak_pick_hz:.2f} Hz"
    lines.append("IAF: " + ("none found" if m.iaf_hz is None else f"{m.iaf_hz:.2f} Hz (1/f-corrected)")
                 + f"; plain peak pick {pick}")
    for pair, v in (("F4/F3", m.faa_f4_f3), ("F8/F7", m.faa_f8_f7)):
        words = "n/a" if v is None else f"{v:+.2f} ({'less' if v < 0 else 'more'} left-frontal activity)"
        lines.append(f"FAA {pair} = ln right - ln left alpha ({FAA_ALPHA_HZ[0]:g}-{FAA_ALPHA_HZ[1]:g} Hz): {words}")
    beta = m.tbr_band_hz["beta"]
    for site, v in (("Cz", m.tbr_cz), ("Fz", m.tbr_fz)):
        lines.append(f"theta/beta {site} (4-8 / {beta[0]:g}-{beta[1]:g} Hz): " + ("n/a" if v is None else f"{v:.2f}"))
    lines.append("")
    if outcome.suggestions:
        lines.append("Suggestion (decision support):")
        for s in outcome.suggestions:
            freq = "—" if s.frequency_hz is None else f"{s.frequency_hz:g} Hz"
            lines.append(f"  • {s.site} ({s.side}), {freq}: {s.protocol}")
    else:
        lines.append("No site suggested.")
    for r in outcome.no_suggestion_reasons + outcome.descriptive_flags:
        lines.append(_wrap("  – " + r, indent="    "))
    lines.append("")
    lines.append(_wrap(CONFIDENCE_NOTE))
    lines.append(_wrap(NO_NORMATIVE_DATABASE))
    return "\n".join(lines)


def report_figure(m: QeegMeasures, outcome: RuleOutcome, title: str = "qEEG report") -> Figure:
    """The whole report as one figure (about 1500 x 1100 px at 100 dpi)."""
    fig = Figure(figsize=(15, 11), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=13)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.0, 1.05])
    alpha = {ch: V2_TO_UV2 * b.get("alpha", np.nan) for ch, b in m.band_power_abs.items()} \
        if "alpha" in m.bands_hz else {}
    draw_topomap(fig.add_subplot(grid[0, 0]), alpha, "alpha 8-13 Hz absolute power", "µV²", "viridis")
    theta = {ch: 100 * b["theta"] for ch, b in m.band_power_rel.items()} if "theta" in m.bands_hz else {}
    draw_topomap(fig.add_subplot(grid[0, 1]), theta, "theta 4-8 Hz relative power", "%", "magma")
    z_alpha = {ch: z["alpha"] for ch, z in m.zscores.items() if "alpha" in z}
    draw_topomap(fig.add_subplot(grid[0, 2]), z_alpha, "alpha relative power, z within this recording", "z",
                 "RdBu_r", symmetric=True)
    _region_spectra(fig.add_subplot(grid[1, 0:2]), m)
    text_ax = fig.add_subplot(grid[1, 2])
    text_ax.set_axis_off()
    text_ax.text(0.0, 1.0, _summary_text(m, outcome), va="top", ha="left", fontsize=7.5, family="monospace",
                 wrap=True, transform=text_ax.transAxes)
    return fig


def write_report_png(fig: Figure, path: str | Path) -> Path:
    """Render ``fig`` to ``path`` (PNG); the caller decides where (the CLI writes a temp file and renames)."""
    path = Path(path)
    FigureCanvasAgg(fig).print_png(str(path))
    return path
