"""Connect a tracker driver, read a few frames and close it: the set-up several emulator tests
share (the last batch says which tools were seen and how)."""

from __future__ import annotations

from tmsnav.hardware.frames import ToolFrame

__all__ = ["read_last_frames"]


def read_last_frames(tracker, n: int = 5) -> dict[str, ToolFrame]:
    """Connect, start, read ``n`` batches (1 s timeout each), close; the last batch by tool."""
    tracker.connect()
    tracker.start()
    try:
        frames = [tracker.read_frames(1.0) for _ in range(n)]
    finally:
        tracker.close()
    return {f.tool: f for f in frames[-1]}
