"""Targeting: where to stimulate (MNI registration, scalp heuristics, connectivity, qEEG)."""
