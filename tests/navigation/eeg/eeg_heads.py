"""Heads for the electrode tests: the bundled sample head (real head shape, marked nasion / LPA /
RPA / inion) and the phantom generator's ellipsoid head (another size and shape, inion estimated),
each with its landmarks and 10-10 construction, built once per test run."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.extract import extract_scalp
from tmsnav.navigation.targeting.planning import landmarks_from
from tmsnav.navigation.targeting.scalp_geometry import SurfaceMesh
from tmsnav.navigation.targeting.ten_twenty import compute_ten_twenty


@lru_cache(maxsize=1)
def sample_head():
    """(scalp PolyData, SurfaceMesh, HeadLandmarks, TenTwenty) of the bundled sample head."""
    from tmsnav.app.loading import load_sample_head

    head = load_sample_head()
    surf = SurfaceMesh(head.scalp)
    lm = landmarks_from(head.fiducials_mm, surf).landmarks
    return head.scalp, surf, lm, compute_ten_twenty(surf, lm)


@lru_cache(maxsize=1)
def phantom_head():
    """The same for the phantom: an ellipsoid head 150 x 190 x 170 mm, centred off the origin."""
    ph = make_phantom_head(2.0)
    scalp = extract_scalp(ph.volume)
    surf = SurfaceMesh(scalp)
    fiducials = {"nasion": np.asarray(ph.nasion), "lpa": np.asarray(ph.lpa), "rpa": np.asarray(ph.rpa)}
    lm = landmarks_from(fiducials, surf).landmarks
    return scalp, surf, lm, compute_ten_twenty(surf, lm)
