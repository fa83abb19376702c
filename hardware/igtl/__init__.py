"""OpenIGTLink (PLUS Server, 3D Slicer): a tracker client and a pose streamer, on our own codec.

``IGTLinkTracker`` (:mod:`.client`) receives TRANSFORM/POSITION/STATUS messages as ToolFrames;
``PoseStreamer`` (:mod:`.server`) sends poses out as TRANSFORM messages. The wire format is in
:mod:`.protocol` (byte-identical to pyigtl's packing, which the tests use as the independent peer).
"""

from .client import DEFAULT_DEVICE_TOOLS, IGTLinkStats, IGTLinkTracker
from .protocol import crc64, pack_transform, parse_header, unpack_body, unpack_transform
from .server import PoseStreamer, StreamerStats

__all__ = ["IGTLinkTracker", "IGTLinkStats", "DEFAULT_DEVICE_TOOLS", "PoseStreamer", "StreamerStats",
           "crc64", "pack_transform", "parse_header", "unpack_body", "unpack_transform"]
