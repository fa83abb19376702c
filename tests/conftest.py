"""Test-wide settings. GUI tests need a display: run the suite as README.md says
(xvfb-run -a with QT_QPA_PLATFORM=xcb). Never set PYVISTA_OFF_SCREEN here: QtInteractor
renders black (see ../shared/notes/ci-recipe.md)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Software GL: MSAA costs ~4x frame rate under llvmpipe and nothing in tests needs it.
os.environ.setdefault("TMSNAV_MULTI_SAMPLES", "0")
