"""A saved session reopens into working objects; a damaged section is a warning, not a loss."""

import numpy as np

from tmsnav.navigation.registration import register
from tmsnav.navigation.registration.pivot import PivotCalibration
from tmsnav.navigation.session import Session
from tmsnav.navigation.session.restore import restore_session
from tmsnav.navigation.targeting.targets import Evidence, Target, TargetSet
from tmsnav.navigation.transforms import Transform

MRI_FIDS = {"nasion": [0.0, 95.0, -10.0], "lpa": [-75.0, 0.0, -30.0], "rpa": [75.0, 0.0, -30.0]}


def make_plan():
    true = Transform.from_euler("xyz", [0.1, -0.2, 0.3], [5, -10, 20], to_frame="mri", from_frame="reference")
    touched = {k: true.inverse().apply(v) for k, v in MRI_FIDS.items()}
    registration = register(MRI_FIDS, touched)
    pivot = PivotCalibration(np.array([1.0, 2.0, -150.0]), np.array([0.0, 0.0, -1500.0]),
                             0.2, 0.5, 0.9, 0.5, 600)
    targets = TargetSet()
    targets.add(Target("F3", [-50, 50, 50], [0.6, -0.6, -0.529150262], [0.0, -0.661437828, 0.75],
                       "10-20", Evidence("Jasper 1958", "EEG F3 position")))
    return registration, pivot, targets, true


def test_round_trip_through_session_file(tmp_path):
    registration, pivot, targets, true = make_plan()
    s = Session.create(tmp_path / "s", "P1")
    s.set_image("T1", "/data/t1.nii.gz", "c" * 64)
    s.set_registration(registration.to_dict())
    s.set_calibration("pointer", pivot.to_dict())
    s.set_calibration("coil", {"model_id": "generic-fig8-70",
                               "coil_from_hotspot": Transform.identity("coil", "hotspot").to_dict()})
    s.set_targets(targets.to_dict())
    s.record.mni = {"mri_from_mni": Transform("mri", "mni", np.diag([1.1, 1.0, 0.9, 1.0])).to_dict()}
    s.save()
    restored = restore_session(Session.open(tmp_path / "s").record)
    assert restored.warnings == []
    assert restored.image_path == "/data/t1.nii.gz"
    assert restored.registration.mri_from_reference.is_close(true, atol_mm=1e-6, atol_rad=1e-8)
    np.testing.assert_allclose(restored.pointer_calibration.tip_offset_mm, [1, 2, -150])
    assert restored.coil_model_id == "generic-fig8-70"
    assert restored.targets.names == ["F3"]
    assert restored.targets["F3"].scalp_point_mm[0] < 0  # still on the left
    assert restored.mri_from_mni.matrix[0, 0] == 1.1


def test_damaged_section_is_skipped_with_warning(tmp_path):
    registration, _, targets, _ = make_plan()
    s = Session.create(tmp_path / "s", "P1")
    bad = registration.to_dict()
    bad["format_version"] = 99
    s.set_registration(bad)
    s.set_targets(targets.to_dict())
    restored = restore_session(s.record)
    assert restored.registration is None
    assert any("registration" in w for w in restored.warnings)
    assert restored.targets.names == ["F3"]
