"""The files tmsnav ships (sample head, coil definitions, NDI tool definitions) as package data.

Installed, this folder is the package ``tmsnav.assets``; code finds the files through
``importlib.resources.files("tmsnav.assets")``, never through paths relative to its own source
file, so a wheel install (site-packages) and the checkout (editable install) work the same way.
Every subfolder with files must be listed as a package in ``[tool.setuptools] packages`` and get
its patterns in ``[tool.setuptools.package-data]`` of ``pyproject.toml`` to be in the wheel
(``tests/test_packaging.py`` checks the rules, ``.ci/wheel_smoke`` the built wheel).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["asset_path"]


def asset_path(*parts: str) -> Path:
    """A shipped file or folder as a real filesystem path (nibabel, glob and open need one).

    tmsnav is installed as plain files (wheel or editable), never run from a zip, so the
    resource is already a :class:`pathlib.Path`; anything else is refused with the reason.
    """
    resource = files(__name__).joinpath(*parts)
    if not isinstance(resource, Path):
        raise RuntimeError(f"tmsnav assets must be installed as files, not inside an archive: {resource}")
    return resource
