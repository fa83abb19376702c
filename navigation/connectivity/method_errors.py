"""Errors of the connectivity method (seed, search region, cleaning, cluster step).

Every message says what was found and what the user can do, because the GUI shows it in a
dialog and the batch CLI writes it to the subject's ``error.txt``."""

from __future__ import annotations

from tmsnav.navigation.errors import NavigationError

__all__ = ["ConnectivityError", "CoverageError", "NoClusterError", "DamagedRunError"]


class ConnectivityError(NavigationError):
    """The connectivity target cannot be computed from this run with these parameters."""


class CoverageError(ConnectivityError):
    """The seed or the search region lies (partly) outside the run's field of view or brain mask."""


class NoClusterError(ConnectivityError):
    """No anticorrelated cluster stands out from what a random seed of the same spectrum gives."""


class DamagedRunError(ConnectivityError):
    """NaN voxels inside the brain, a constant seed, or too few volumes left after scrubbing."""
