"""Random rigid transforms with frames, for tests of pose chains."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from tmsnav.navigation.transforms import Transform


def random_rigid(rng: np.random.Generator, to_frame: str, from_frame: str, spread_mm: float = 100.0) -> Transform:
    """``<to>_from_<from>``: a uniformly random rotation and a normal translation of ``spread_mm``
    per axis (room-scale poses: a tracker sees tools 1-2 m away)."""
    return Transform.from_rotation(Rotation.random(random_state=int(rng.integers(1_000_000))),
                                   rng.normal(0.0, spread_mm, 3), to_frame=to_frame, from_frame=from_frame)
