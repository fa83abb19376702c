"""Poses for the emulated NDI device: a built-in head/coil/pointer motion and per-frame noise.

The pose source is pluggable (``poses_at(t_s) -> {name: 4x4 | None}``, e.g. the scenarios of
:mod:`tmsnav.hardware.simulation.tracker`). Noise is Gaussian, seeded per (seed, camera frame, tool) so that
every poll within one camera frame returns identical numbers, as a real camera would.
Default noise levels sit near the Polaris Vega's stated 0.12 mm RMS accuracy (notes §4).
"""

from __future__ import annotations

import math
import zlib
from typing import Protocol

import numpy as np

from .replies import matrix_to_quaternion

__all__ = ["DefaultMotion", "PoseSampler"]

Sample = tuple[tuple[float, float, float, float], tuple[float, float, float], float]


class _Source(Protocol):
    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]: ...


def _rotation_z(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rotation_x(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


class DefaultMotion:
    """A head reference at rest 1.5 m in front of the camera, a coil circling slowly above it
    and a pointer sweeping beside it. Tracker frame: NDI Polaris (volume along -z), mm."""

    def poses_at(self, t_s: float) -> dict[str, np.ndarray | None]:
        tracker_from_reference = np.eye(4)
        tracker_from_reference[:3, 3] = (0.0, 0.0, -1500.0)
        angle = 0.4 * t_s
        tracker_from_coil = np.eye(4)
        tracker_from_coil[:3, :3] = _rotation_z(angle) @ _rotation_x(0.3)
        tracker_from_coil[:3, 3] = (40.0 * math.cos(angle), 40.0 * math.sin(angle) + 60.0, -1420.0)
        tracker_from_pointer = np.eye(4)
        tracker_from_pointer[:3, :3] = _rotation_x(0.2 * math.sin(0.7 * t_s))
        tracker_from_pointer[:3, 3] = (120.0 + 30.0 * math.sin(0.5 * t_s), -40.0, -1450.0)
        return {"reference": tracker_from_reference, "coil": tracker_from_coil,
                "pointer": tracker_from_pointer}


def _small_rotation(rotation_vector: np.ndarray) -> np.ndarray:
    """Rodrigues' formula for a (small) rotation vector in radians."""
    angle = float(np.linalg.norm(rotation_vector))
    if angle < 1e-15:
        return np.eye(3)
    k = rotation_vector / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * (kx @ kx)


class PoseSampler:
    """Turns a pose source into per-frame (quaternion, translation, RMS) samples with noise."""

    def __init__(self, source: _Source, *, noise_mm: float, noise_rad: float, rms_mm: float,
                 seed: int) -> None:
        if noise_mm < 0 or noise_rad < 0 or rms_mm < 0:
            raise ValueError("noise and RMS levels must be >= 0")
        self.source = source
        self.noise_mm, self.noise_rad, self.rms_mm, self.seed = noise_mm, noise_rad, rms_mm, seed
        self._cache: tuple[int, dict[str, Sample | None]] | None = None

    def sample(self, frame_count: int, t_s: float) -> dict[str, Sample | None]:
        if self._cache is not None and self._cache[0] == frame_count:
            return self._cache[1]
        samples: dict[str, Sample | None] = {}
        for name, pose in self.source.poses_at(t_s).items():
            samples[name] = self._noisy(name, frame_count, pose)
        self._cache = (frame_count, samples)
        return samples

    def _noisy(self, name: str, frame_count: int, pose: np.ndarray | None) -> Sample | None:
        if pose is None:
            return None
        tracker_from_tool = np.asarray(pose, dtype=float)
        if tracker_from_tool.shape != (4, 4) or not np.all(np.isfinite(tracker_from_tool)):
            return None
        rng = np.random.default_rng([self.seed, frame_count & 0xFFFFFFFF,
                                     zlib.crc32(name.encode())])
        rotation = tracker_from_tool[:3, :3]
        translation = tracker_from_tool[:3, 3]
        if self.noise_rad > 0:
            rotation = _small_rotation(rng.normal(0.0, self.noise_rad, 3)) @ rotation
        if self.noise_mm > 0:
            translation = translation + rng.normal(0.0, self.noise_mm, 3)
        jitter = 0.1 * float(rng.normal()) if self.noise_mm > 0 else 0.0   # noiseless: constant
        rms = self.rms_mm * max(0.0, 1.0 + jitter)
        x, y, z = (float(v) for v in translation)
        return (matrix_to_quaternion(rotation), (x, y, z), rms)
