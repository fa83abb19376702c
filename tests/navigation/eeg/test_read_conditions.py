"""Eyes-closed / eyes-open blocks from the annotation variants clinics write."""

from __future__ import annotations

import pytest

from tests.navigation.eeg import eeg_files as ef
from tmsnav.navigation.eeg.conditions import condition_of, condition_segments
from tmsnav.navigation.eeg.edf_writer import write_edf
from tmsnav.navigation.eeg.readers import read_eeg


@pytest.mark.parametrize("text", ["eyes closed", "EC", "Eyes Closed", "eyes_closed", "Comment/EC",
                                  "Stimulus/eyes closed", "EYES-CLOSED", "  ec  ", "Eyes closed start"])
def test_eyes_closed_variants(text):
    assert condition_of(text) == "eyes_closed"


@pytest.mark.parametrize("text", ["eyes open", "EO", "Eyes Open", "eyes_open", "Comment/EO",
                                  "Eyes Opened"])
def test_eyes_open_variants(text):
    assert condition_of(text) == "eyes_open"


@pytest.mark.parametrize("text", ["blink", "Comment/impedance", "New Segment/", "ECG artefact",
                                  "eyes", "closed door", "Stimulus/S  1"])
def test_other_annotations_are_not_conditions(text):
    assert condition_of(text) is None


def test_a_block_lasts_until_the_next_condition_marker_or_the_end():
    ann = [(5.0, 0.0, "EC"), (30.0, 0.0, "blink"), (65.0, 0.0, "EO"), (125.0, 0.0, "EC")]
    assert condition_segments(ann, 180.0) == {"eyes_closed": [(5.0, 65.0), (125.0, 180.0)],
                                              "eyes_open": [(65.0, 125.0)]}


def test_a_marker_with_a_duration_covers_that_span_only():
    ann = [(0.0, 40.0, "Eyes Closed"), (60.0, 30.0, "Eyes Open"), (200.0, 0.0, "EC")]
    assert condition_segments(ann, 150.0) == {"eyes_closed": [(0.0, 40.0)],
                                              "eyes_open": [(60.0, 90.0)]}


def test_no_markers_means_no_blocks():
    assert condition_segments([(3.0, 0.0, "blink")], 60.0) == {}


def test_edf_plus_durations_and_mixed_labels_through_the_reader(tmp_path):
    ann = [(1.0, 0.0, "Eyes Closed"), (8.0, 4.0, "EO"), (14.0, 0.0, "eyes closed")]
    p = write_edf(tmp_path / "r.edf", ef.eeg_like(19, 20, 256), 256, ef.TEN_TWENTY, annotations=ann)
    rec = read_eeg(p)
    assert rec.conditions == {"eyes_closed": [(1.0, 8.0), (14.0, 20.0)], "eyes_open": [(8.0, 12.0)]}
    assert rec.annotations == [(1.0, 0.0, "Eyes Closed"), (8.0, 4.0, "EO"), (14.0, 0.0, "eyes closed")]
