"""Test-wide settings. GUI tests need a display: run the suite as README.md says
(xvfb-run -a with QT_QPA_PLATFORM=xcb). Never set PYVISTA_OFF_SCREEN here: QtInteractor
renders black (see ../shared/notes/ci-recipe.md)."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Software GL: MSAA costs ~4x frame rate under llvmpipe and nothing in tests needs it.
os.environ.setdefault("TMSNAV_MULTI_SAMPLES", "0")

# tmsnav's main() writes a rotating log file in the user log folder: tests that start it must not
# fill the tester's home, so the whole run logs into one temporary folder.
os.environ.setdefault("TMSNAV_LOG_DIR", tempfile.mkdtemp(prefix="tmsnav-test-log-"))
