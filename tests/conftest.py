"""Test-wide settings. GUI tests need a display: run the suite as README.md says
(xvfb-run -a with QT_QPA_PLATFORM=xcb). Never set PYVISTA_OFF_SCREEN here: pyvistaqt's
QtInteractor then renders black."""

import json
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
# Likewise the clinic settings (navigation/clinic_settings.py): a tester's own clinic.json (another
# tolerance, cm units) must not change what the tests see, and no test may write the real one.
os.environ.setdefault("TMSNAV_CONFIG_DIR", tempfile.mkdtemp(prefix="tmsnav-test-config-"))
# And the clinic database and session folders every main window opens (app/records/settings_link.py).
_DATA = Path(tempfile.mkdtemp(prefix="tmsnav-test-data-"))
os.environ.setdefault("TMSNAV_DATABASE_URL", f"sqlite:///{_DATA / 'tmsnav.sqlite3'}")
os.environ.setdefault("TMSNAV_SESSIONS_ROOT", str(_DATA / "sessions"))


def pytest_collection_modifyitems(config, items):
    """With TMSNAV_SAFETY_JSON=path, write every ``safety`` marker to that JSON file.

    docs/tools/safety_list.py runs ``pytest --collect-only`` with it and turns the list into
    docs/safety.md's table, so the documented hazards and their tests cannot drift apart.
    """
    target = os.environ.get("TMSNAV_SAFETY_JSON")
    if not target:
        return
    records = []
    for item in items:
        for mark in item.iter_markers(name="safety"):
            records.append({"test": item.nodeid.split("[")[0], "hazard": mark.kwargs.get("hazard"),
                            "control": mark.kwargs.get("control"), "args": list(mark.args)})
    with open(target, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)
