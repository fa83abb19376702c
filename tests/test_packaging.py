"""Packaging rules that a built wheel depends on (issue 11), checked on the source tree.

The wheel itself is built, installed into a fresh venv and exercised from outside the checkout by
``.ci/wheel_smoke`` (``tests/smoke/wheel_smoke.py``); these tests catch the two mistakes that make
that wheel silently incomplete while every test against the checkout still passes: a new
subpackage missing from ``[tool.setuptools] packages`` (its modules would not be installed), and
a shipped file no ``package-data`` pattern matches (or code that finds its files relative to its
own source file instead of through ``importlib.resources``).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (the suite runs on 3.11)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _source_packages() -> set[str]:
    """Installed names of every folder with Python files under the three code folders."""
    found = set()
    for top in ("app", "navigation", "hardware"):
        for path in (ROOT / top).rglob("*.py"):
            found.add("tmsnav." + ".".join(path.parent.relative_to(ROOT).parts))
    return found


def test_every_code_folder_is_an_installed_package_under_tmsnav():
    listed = set(SETUPTOOLS["packages"])
    assert _source_packages() - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - _source_packages() - _asset_packages() == set(), "listed but not in the tree"
    assert SETUPTOOLS["package-dir"] == {"tmsnav.app": "app", "tmsnav.navigation": "navigation",
                                         "tmsnav.hardware": "hardware", "tmsnav.assets": "assets"}
    assert all(name.startswith("tmsnav.") for name in listed)


def test_every_code_folder_has_an_init():
    """A code folder without ``__init__.py`` is an implicit namespace package: it imports, but
    mypy, pytest's importlib mode and setuptools' discovery each treat it differently (app/panels
    was one)."""
    missing = sorted(name for name in _source_packages()
                     if not (ROOT / Path(*name.split(".")[1:]) / "__init__.py").is_file())
    assert missing == []


def test_console_scripts_point_into_tmsnav():
    assert PYPROJECT["project"]["scripts"] == {"tmsnav": "tmsnav.app.main:main",
                                               "tmsnav-emulate": "tmsnav.hardware.emulate_cli:main",
                                               "tmsnav-target": "tmsnav.navigation.target_cli:main"}


def _tracked_assets() -> list[str]:
    tracked = subprocess.run(["git", "ls-files", "assets"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked, "git ls-files found no assets"
    return [f.removeprefix("assets/") for f in tracked]


def _asset_packages() -> set[str]:
    """The package of every folder of assets/ that holds a tracked file."""
    return {".".join(("tmsnav", "assets", *Path(f).parent.parts)) for f in _tracked_assets()}


def _shipped(relative: str) -> bool:
    """Whether the file ``relative`` to assets/ lands in the wheel: its folder is a listed package
    and one of that package's package-data globs matches its name ("*" does not cross "/")."""
    folder, name = Path(relative).parent, Path(relative).name
    package = ".".join(("tmsnav", "assets", *folder.parts))
    if package not in SETUPTOOLS["packages"]:
        return False
    return name.endswith(".py") or any(fnmatch.fnmatch(name, p) and "/" not in p
                                       for p in SETUPTOOLS["package-data"].get(package, []))


def test_every_asset_folder_is_a_listed_package():
    """setuptools warns "Package would be ignored" for an importable data folder missing from
    ``packages`` (every folder is importable as a namespace package)."""
    assert _asset_packages() - set(SETUPTOOLS["packages"]) == set(), "add these to [tool.setuptools] packages"
    assert set(SETUPTOOLS["package-data"]) == _asset_packages(), "one package-data entry per asset folder"


def test_every_tracked_asset_file_is_package_data():
    assert [f for f in _tracked_assets() if not _shipped(f)] == []
    # the surface cache the app writes beside the sample head never ships
    assert not _shipped("sample_head/mean_reg2mean.nii.gz.tmsnav-cache/scalp-x.npz")
    assert not _shipped("sample_head/notes.txt")


def test_no_module_finds_files_relative_to_its_own_source():
    """Assets come from importlib.resources (tmsnav.assets.asset_path); a path built from
    ``__file__`` points into the checkout and breaks in a wheel (the old coils/sample head bug)."""
    offenders = []
    for top in ("app", "navigation", "hardware"):
        for path in (ROOT / top).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"__file__|\.parents\[", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_assets_resolve_through_importlib_resources():
    from importlib.resources import files

    from tmsnav.assets import asset_path
    from tmsnav.navigation.coils import COIL_ASSETS_DIR
    from tmsnav.navigation.sample_head import sample_head_path

    root = asset_path()
    assert root == Path(str(files("tmsnav.assets")))
    assert COIL_ASSETS_DIR == root / "coils" and sorted(COIL_ASSETS_DIR.glob("*.json"))
    assert sample_head_path().is_file() and sample_head_path().parent == root / "sample_head"


def test_only_tmsnav_is_importable_not_the_bare_folder_names(tmp_path):
    """From a directory outside the checkout, the folders are importable only as tmsnav.*."""
    code = ("import importlib.util, tmsnav.navigation.transforms\n"
            "print([n for n in ('app', 'navigation', 'hardware') if importlib.util.find_spec(n)])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_benchmarks_import_the_installed_tmsnav_not_the_checkout():
    """A benchmark that puts the checkout on ``sys.path`` makes ``navigation``, ``app`` ... importable
    under their bare folder names beside ``tmsnav.*`` (two copies of one module, two Frame enums),
    and times the checkout instead of what is installed."""
    changes_path = re.compile(r"sys\.path\.(insert|append|extend)|sys\.path\s*\[[^]]*\]\s*=|sys\.path\s*[+]?=")
    offenders = [f"{path.name}:{number}" for path in sorted((ROOT / "benchmarks").glob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if changes_path.search(line.split("#", 1)[0])]
    assert offenders == []


def test_tests_import_tmsnav_not_the_bare_folder_names():
    """``python -m pytest`` puts the checkout on ``sys.path``, so ``import navigation.x`` works in a
    test but loads a second copy of the module beside ``tmsnav.navigation.x``: its error classes
    are other classes, and an ``except`` written for one misses the other (seen with the records
    tests' RecordsError)."""
    bare = re.compile(r"^\s*(from|import)\s+(app|navigation|hardware)(\.|\s)")
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for top in ("tests", "benchmarks") for path in sorted((ROOT / top).rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if bare.match(line)]
    assert offenders == []
