"""Physics observables on hand-built images with known length, width, charge and direction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from lartpcbench.bench.metrics.observables import compute_observables, dbscan_pixel_labels


def blank(count: int = 1) -> np.ndarray:
    return np.zeros((count, 64, 64), dtype=np.uint8)


def test_horizontal_track_length_width_charge():
    images = blank()
    images[0, 30, 10:40] = 50
    scalars = compute_observables(images).scalars
    assert scalars["track_length"][0] == pytest.approx(30.0)
    assert scalars["track_width"][0] == pytest.approx(1.0)
    assert scalars["charge"][0] == 30 * 50
    assert scalars["lit_pixels"][0] == 30
    assert scalars["n_clusters"][0] == 1
    assert scalars["direction"][0] == pytest.approx(0.0, abs=1e-9) or scalars["direction"][0] == pytest.approx(180.0)
    assert scalars["dedx_mean"][0] == pytest.approx(50.0)


def test_vertical_and_diagonal_tracks():
    images = blank(2)
    images[0, 5:25, 12] = 10
    for step in range(20):
        images[1, 10 + step, 10 + step] = 10
    scalars = compute_observables(images).scalars
    assert scalars["direction"][0] == pytest.approx(90.0)
    assert scalars["track_length"][0] == pytest.approx(20.0)
    assert scalars["direction"][1] == pytest.approx(45.0)
    # Hull of the staircase of 20 unit squares: length 20 sqrt(2), area 2 * 20 - 1.
    assert scalars["track_length"][1] == pytest.approx(20 * np.sqrt(2))
    assert scalars["track_width"][1] == pytest.approx(39 / (20 * np.sqrt(2)))


def test_wide_track_width():
    images = blank()
    images[0, 20:23, 5:45] = 7
    scalars = compute_observables(images).scalars
    assert scalars["track_length"][0] == pytest.approx(40.0)
    assert scalars["track_width"][0] == pytest.approx(3.0)


def test_largest_cluster_and_noise():
    images = blank()
    images[0, 10, 5:15] = 20  # 10-pixel track
    images[0, 40, 5:30] = 20  # 25-pixel track: the largest cluster
    images[0, 60, 60] = 200  # isolated pixel: DBSCAN noise
    scalars = compute_observables(images).scalars
    assert scalars["n_clusters"][0] == 2
    assert scalars["track_length"][0] == pytest.approx(25.0)
    assert scalars["lit_pixels"][0] == 36
    assert scalars["charge"][0] == 35 * 20 + 200


def test_bragg_peak_orientation_and_ratio():
    images = blank(2)
    images[0, 32, 10:40] = 20
    images[0, 32, 37:40] = 80  # stopping end on the right
    images[1] = images[0][:, ::-1]  # the same track stopping on the left
    result = compute_observables(images)
    for index in range(2):
        assert result.scalars["bragg_ratio"][index] == pytest.approx(4.0)
        assert result.dedx_profiles[index, 0] == pytest.approx(80.0)
        assert result.dedx_profiles[index, 29] == pytest.approx(20.0)
        assert np.isnan(result.dedx_profiles[index, 30])


def test_empty_image_values():
    result = compute_observables(blank())
    scalars = result.scalars
    assert scalars["lit_pixels"][0] == 0
    assert scalars["n_clusters"][0] == 0
    assert scalars["track_length"][0] == 0
    assert np.isnan(scalars["direction"][0])
    assert np.isnan(scalars["bragg_ratio"][0])


def test_intensity_counts():
    images = blank(2)
    images[0, 0, :3] = [1, 1, 255]
    images[1, 5, 5] = 9
    counts = compute_observables(images).intensity_counts
    assert counts.shape == (2, 256)
    assert counts[0, 1] == 2
    assert counts[0, 255] == 1
    assert counts[0, 0] == 4096 - 3
    assert counts[1, 9] == 1


def test_grid_dbscan_matches_sklearn():
    rng = np.random.default_rng(0)
    images = blank(40)
    for image in images:
        mask = rng.random((64, 64)) < 0.06
        image[mask] = rng.integers(1, 255, mask.sum())
        image[rng.integers(0, 64), 3:50] = 90
    labels, first_label = dbscan_pixel_labels(images)
    for index, image in enumerate(images):
        rows, cols = np.nonzero(image)
        expected = DBSCAN(eps=1.5, min_samples=3).fit(np.column_stack([rows, cols])).labels_
        mine = labels[index][rows, cols]
        # Same clustered pixels and the same number of clusters; ids are image-local ranges.
        np.testing.assert_array_equal(expected >= 0, mine > 0)
        assert len(set(expected[expected >= 0])) == first_label[index + 1] - first_label[index]
        if (mine > 0).any():
            assert mine[mine > 0].min() > first_label[index]
            assert mine.max() <= first_label[index + 1]


def test_track_length_matches_simulator_truth():
    from lartpcbench.bench.metrics.validation import validate_track_length

    summary = validate_track_length(40, particles=("muon",), seed=3)["muon"]
    assert summary["n_images"] >= 35
    # The hull of whole pixels adds less than one pixel (0.3 cm) at the track's ends.
    assert 0.0 <= summary["median_bias_cm"] < 0.6
    assert summary["resolution_cm"] < 0.5
    assert abs(summary["relative_bias"]) < 0.05
