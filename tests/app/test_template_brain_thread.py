"""The template brain that follows an MNI registration is made on a background thread while the
GUI keeps rendering: no VTK object may be made on that thread (VTK filters on a worker while the
GUI thread renders deadlocked the window in about 1 run of 3). The VTK contouring runs in a child
process that fills the disk cache, the placement is numpy, and the mesh is made on the GUI thread."""

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import pyvista as pv

from tmsnav.app.loading import LoadedHead
from tmsnav.navigation.phantom import make_phantom_head
from tmsnav.navigation.surfaces.head import head_surfaces
from tmsnav.navigation.surfaces.template_brain import cached_template_arrays, template_transform_of
from tmsnav.navigation.transforms import Frame, Transform

pytestmark = pytest.mark.gui


def _phantom_mri_from_mni(phantom) -> Transform:
    """The MNI152 brain (semi-axes 72 x 90 x 77 mm around (0, -16, 5)) onto the phantom's brain
    ellipsoid: an affine that puts the template inside this head."""
    scale = phantom.brain.semi_axes / np.array([72.0, 90.0, 77.0])
    m = np.diag([*scale, 1.0])
    m[:3, 3] = phantom.brain.centre - scale * np.array([0.0, -16.0, 5.0])
    return Transform(Frame.MRI, Frame.MNI, m)


@pytest.mark.parametrize("cold_cache", [True, False])
def test_template_brain_worker_makes_no_vtk_object_off_the_gui_thread(window, qtbot, tmp_path, monkeypatch,
                                                                     cold_cache):
    if cold_cache:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    phantom = make_phantom_head(voxel_mm=2.0)
    scalp = head_surfaces(phantom.volume, max_faces=20_000).scalp
    window._on_head_loaded(LoadedHead(phantom.volume, scalp, None, None))

    off_thread: list[str] = []
    original = pv.PolyData.__init__

    def spy(self, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            off_thread.append(threading.current_thread().name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(pv.PolyData, "__init__", spy)
    registration = SimpleNamespace(mri_from_mni=_phantom_mri_from_mni(phantom))
    head = window.state.head
    window.state.mni = registration           # what a finished MNI registration leaves
    errors = []
    monkeypatch.setattr(window, "show_error", lambda title, text: errors.append(text))
    window.brains._start_template(head, registration, asked=True)
    qtbot.waitUntil(lambda: not window.brains.template_running, timeout=240_000)
    assert off_thread == []
    assert cached_template_arrays() is not None            # the child process filled the cache
    assert errors == []
    np.testing.assert_allclose(template_transform_of(head.brain), registration.mri_from_mni.matrix)
    assert window.brains.last_check.inside_fraction >= 0.99
