"""The evaluate entry point: names, versions, seeds, floors, caching, memorisation and registries."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lartpcbench.bench.metrics import (
    DEFAULT_METRICS,
    FAST_METRICS,
    FeatureExtractor,
    UnknownNameError,
    available_metrics,
    evaluate,
    extractor_hashes,
    get_extractor,
    get_metric,
    observable_histograms,
    register_extractor,
)
from lartpcbench.bench.perf.metrics import drawn_images
from lartpcbench.datasets.images import ImageFormatError

pytestmark = pytest.mark.filterwarnings("ignore:metric .* gets")


@pytest.fixture(scope="module")
def images():
    return drawn_images(700, seed=1)


def by_name(results):
    return {result.name: result for result in results}


def test_metric_names_are_registered():
    assert set(DEFAULT_METRICS) == set(available_metrics())
    assert set(FAST_METRICS) <= set(DEFAULT_METRICS)
    assert get_metric("prdc").result_names == ("precision", "recall", "density", "coverage")
    assert "w1_lit_pixels" in get_metric("physics").result_names
    assert "sep_track_length" in get_metric("physics").result_names


def test_unknown_metric_lists_available(images):
    with pytest.raises(UnknownNameError, match="available metrics: .*fd_segnet"):
        evaluate(images[:10], images[10:20], metrics=["fid"])


def test_bad_images_rejected(images):
    with pytest.raises(ImageFormatError, match="shape"):
        evaluate(images[:10, :32], images[10:20], metrics=["kd_physics"])
    with pytest.raises(ValueError, match="cache_dir and reference_key"):
        evaluate(images[:10], images[10:20], metrics=["kd_physics"], cache_dir="/tmp")


def test_fast_suite_results(images):
    results = evaluate(images[:200], images[200:400], metrics=list(FAST_METRICS), seed=0)
    names = [result.name for result in results]
    expected = [name for metric in FAST_METRICS for name in get_metric(metric).result_names]
    assert names == expected
    hashes = extractor_hashes()
    for result in results:
        assert result.details["extractor_sha256"] in hashes.values(), result.name
        assert result.version
        assert result.n_real == 200
        assert result.n_generated == 200
        assert np.isfinite(result.value), result.name
        assert result.ci_low <= result.ci_high, result.name
    named = by_name(results)
    assert named["fd_segnet"].details["extractor_sha256"] == hashes["segnet"]
    assert named["precision"].details["extractor_sha256"] == hashes["segnet"]
    assert named["w1_track_length"].details["extractor_sha256"] == hashes["physics"]


def test_seed_determinism_and_independence(images):
    first = by_name(evaluate(images[:200], images[200:400], metrics=["kd_physics", "physics"], seed=3))
    again = by_name(evaluate(images[:200], images[200:400], metrics=["physics", "kd_physics"], seed=3))
    alone = by_name(evaluate(images[:200], images[200:400], metrics=["kd_physics"], seed=3))
    for name, result in first.items():
        assert again[name].value == result.value, name
        assert again[name].ci_low == result.ci_low, name
    assert alone["kd_physics"].value == first["kd_physics"].value


def test_real_vs_real_floor_below_distorted(images):
    reference, same = images[:300], images[300:600]
    # Distortion: every track 60% brighter.
    distorted = np.clip(same.astype(np.int32) * 16 // 10, 0, 255).astype(np.uint8)
    metrics = ["fd_physics", "kd_physics", "fd_segnet", "mmd_pixels", "w1_pixels", "physics"]
    floor = by_name(evaluate(same, reference, metrics=metrics))
    worse = by_name(evaluate(distorted, reference, metrics=metrics))
    for name in ("fd_physics", "kd_physics", "fd_segnet", "mmd_pixels", "w1_pixels", "w1_charge", "ks_charge", "sep_charge", "w1_intensity"):
        assert worse[name].value > floor[name].value, name
    assert floor["ks_charge"].value < 0.15
    assert worse["ks_track_length"].value < 0.15  # brightness leaves geometry unchanged


def test_c2st_floor_and_separable(images):
    reference, same = images[:300], images[300:600]
    blurred = same.copy()
    blurred[:, 1:, :] = np.maximum(blurred[:, 1:, :], same[:, :-1, :])  # tracks one pixel thicker
    floor = by_name(evaluate(same, reference, metrics=["c2st_auc"]))["c2st_auc"]
    worse = by_name(evaluate(blurred, reference, metrics=["c2st_auc"]))["c2st_auc"]
    assert abs(floor.value - 0.5) < 0.12
    assert worse.value > 0.7
    assert worse.ci_low <= worse.value <= worse.ci_high
    assert floor.details["n_per_class"] == 300


def test_memorisation_detects_copies(images):
    train, heldout = images[:300], images[300:500]
    copies = evaluate(train[:100].copy(), heldout, train=train, metrics=["memorisation"])
    fresh = evaluate(images[500:700], heldout, train=train, metrics=["memorisation"])
    copies, fresh = by_name(copies), by_name(fresh)
    assert copies["near_copy_fraction"].value == 1.0
    assert copies["nn_train_ratio"].value == 0.0
    assert fresh["near_copy_fraction"].value < 0.05
    assert 0.8 < fresh["nn_train_ratio"].value < 1.25
    assert fresh["nn_train_ratio"].details["threshold"] > 0


def test_memorisation_skipped_without_train(images, caplog):
    with caplog.at_level(logging.WARNING):
        results = evaluate(images[:50], images[50:100], metrics=["memorisation"])
    assert results == []
    assert "skipping metric 'memorisation'" in caplog.text


def test_small_sample_warns(images):
    with pytest.warns(UserWarning, match="recommends at least 1000"):
        evaluate(images[:50], images[50:100], metrics=["kd_physics"])


def test_reference_cache_roundtrip(images, tmp_path, caplog):
    key = "sim-test/test/abc123"
    first = evaluate(images[:200], images[200:400], metrics=["fd_physics"], cache_dir=tmp_path, reference_key=key)
    files = sorted(path.name for path in (tmp_path / key).iterdir())
    assert [name.split("-")[0] for name in files] == ["observables", "segnet"]
    second = evaluate(images[:200], images[200:400], metrics=["fd_physics"], cache_dir=tmp_path, reference_key=key)
    assert second[0].value == first[0].value
    # Other reference images under the same key: the cache is ignored and rewritten.
    with caplog.at_level(logging.WARNING):
        third = evaluate(images[:200], images[400:600], metrics=["fd_physics"], cache_dir=tmp_path, reference_key=key)
    assert "other images" in caplog.text
    fresh = evaluate(images[:200], images[400:600], metrics=["fd_physics"])
    assert third[0].value == fresh[0].value
    with pytest.raises(ValueError, match="reference_key"):
        evaluate(images[:20], images[20:40], metrics=["fd_physics"], cache_dir=tmp_path, reference_key="../escape")


def test_observable_histograms_shared_bins(images):
    histograms = observable_histograms(images[:200], images[200:400])
    assert {"lit_pixels", "charge", "track_length", "intensity", "dedx_profile"} <= set(histograms)
    for name, entry in histograms.items():
        assert set(entry) == {"label", "unit", "bin_edges", "generated", "reference"}, name
        assert len(entry["generated"]) == len(entry["bin_edges"]) - 1, name
        assert len(entry["reference"]) == len(entry["bin_edges"]) - 1, name
        if name != "dedx_profile":
            assert sum(entry["reference"]) == pytest.approx(1.0), name


def test_extractor_registry_validates():
    assert set(extractor_hashes()) == {"pixels", "physics", "segnet"}
    assert all(len(value) == 64 for value in extractor_hashes().values())
    with pytest.raises(UnknownNameError, match="known extractors: .*segnet"):
        get_extractor("inception")
    with pytest.raises(ValueError, match="already registered"):
        register_extractor(FeatureExtractor("pixels", "again", lambda images, progress: images, lambda: "0"))
    with pytest.raises(ValueError, match="invalid"):
        register_extractor(FeatureExtractor("Bad Name", "x", lambda images, progress: images, lambda: "0"))
    with pytest.raises(TypeError, match="callable"):
        register_extractor(FeatureExtractor("not_callable", "x", None, lambda: "0"))
    features = get_extractor("physics").extract(drawn_images(5, seed=2), False)
    assert features.shape == (5, 12)
    assert features.dtype == np.float64
