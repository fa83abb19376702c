"""The sample .rom files carry the marker geometry their provenance claims (assets/tools/ndi/README.md):
NDI's passive reference 8700339 and passive probe 8700340, as listed in the NDI files distributed with
the PLUS toolkit (PlusLibData, ConfigFiles/NdiToolDefinitions) and scikit-surgerynditracker."""

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from tmsnav.hardware.ndi.rom import check_tool_definition

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "tools" / "ndi"

# marker positions (mm, tool frame) read from NDI's 8700339.rom / 8700340.rom
NDI_8700339 = [[0, 0, 0], [0, 28.59, 41.02], [0, 0, 88.0], [0, -44.32, 40.45]]
NDI_8700340 = [[0, 0, 0], [0, 0, 50.0], [0, 25.0, 100.0], [0, -25.0, 135.0]]


@pytest.mark.parametrize("name, main_type, markers", [
    ("tmsnav_reference.rom", 1, NDI_8700339),
    ("tmsnav_pointer.rom", 2, NDI_8700340),
])
def test_sample_tools_have_the_ndi_part_geometry(name, main_type, markers):
    tool = check_tool_definition((ASSETS / name).read_bytes())
    assert tool.main_type == main_type
    np.testing.assert_allclose(tool.markers_mm, markers, atol=1e-4)   # float32 in the file


def test_every_sample_tool_is_trackable_by_distances():
    """A passive tool is told apart by its marker distances: all six must differ (>= 2 mm here)."""
    for path in sorted(ASSETS.glob("*.rom")):
        markers = check_tool_definition(path.read_bytes()).markers_mm
        distances = sorted(float(np.linalg.norm(a - b)) for a, b in combinations(markers, 2))
        assert min(np.diff(distances)) >= 2.0, (path.name, distances)
