"""NiftiVolumes reads a .nii.gz in one pass: the file is opened once for all blocks.

nibabel reopens the file at every slice unless ``keep_file_open`` is set, and a reopened gzip
stream can only seek by decompressing from the start: reading T/k blocks then costs O(T^2/k)."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from tmsnav.navigation.connectivity.prepared import NiftiVolumes


def test_gz_run_is_opened_once_for_all_blocks(tmp_path, monkeypatch):
    data = np.arange(6 * 5 * 4 * 30, dtype=np.int16).reshape(6, 5, 4, 30)
    path = tmp_path / "bold.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    opened = []
    real_init = nib.openers.Opener.__init__

    def counting_init(self, fileish, *args, **kwargs):
        opened.append(str(fileish))
        real_init(self, fileish, *args, **kwargs)
    monkeypatch.setattr(nib.openers.Opener, "__init__", counting_init)
    blocks = list(NiftiVolumes(str(path)).chunks(4))
    got = np.concatenate([b for _, b in blocks], axis=3)
    np.testing.assert_array_equal(got, data)
    assert [s for s, _ in blocks] == list(range(0, 30, 4))
    reads = [o for o in opened if o.endswith("bold.nii.gz")]
    # nib.load reads the header (1-2 opens), then one handle serves every block; before: one per block
    assert len(reads) <= 3, f"the file was opened {len(reads)} times for {len(blocks)} blocks"
