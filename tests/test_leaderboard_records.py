"""Result records: schema and semantic validation, previews, and the write/load round trip.

``make_record`` and ``sparse_images`` build small fake results by hand; the other
leaderboard test files import them.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from lartpcbench.bench.metrics.result import MetricResult
from lartpcbench.datasets.images import ImageFormatError
from lartpcbench.leaderboard import (
    ResultValidationError,
    build_result,
    decode_preview,
    encode_preview,
    git_commit,
    load_results,
    make_run_id,
    observable_histogram,
    package_versions,
    read_result,
    sampling_record,
    training_record,
    validate_result,
    write_result,
)

TEST_CHECKSUMS = {"test/images": "a" * 64, "test/labels": "b" * 64}


def sparse_images(count: int, seed: int, occupancy: float = 0.03) -> np.ndarray:
    """Return ``count`` random sparse (64, 64) uint8 images: about ``occupancy`` of pixels lit."""
    rng = np.random.default_rng(seed)
    lit = rng.random((count, 64, 64)) < occupancy
    return (lit * rng.integers(5, 256, size=(count, 64, 64))).astype(np.uint8)


def fake_metric(name: str, value: float | None, half: float = 0.5, *, lower_is_better: bool = True) -> MetricResult:
    nan = float("nan")
    return MetricResult(
        name=name,
        value=nan if value is None else value,
        ci_low=nan if value is None else value - half,
        ci_high=nan if value is None else value + half,
        n_real=100,
        n_generated=100,
        version="1",
        estimator="bootstrap, 50 resamples, 68% percentile interval",
        lower_is_better=lower_is_better,
        unit="",
    )


def make_record(
    name: str,
    fd: float | None,
    *,
    kind: str = "generator",
    family: str = "diffusion",
    auc: float = 0.7,
    seed: int = 0,
    created_utc: str = "2024-05-01T12:00:00Z",
    num_parameters: int | None = 1_234_567,
    images_per_second: float = 50.0,
) -> dict:
    """Build a valid result record with three metrics, one observable and a 12-image preview."""
    rng = np.random.default_rng(seed)
    reference_kind = kind == "reference"
    return build_result(
        dataset_name="sim64-v1",
        dataset_version="1.0",
        checksums=TEST_CHECKSUMS,
        kind=kind,
        name=name,
        family="reference" if reference_kind else family,
        model=None if reference_kind else name.lower().replace(" ", "_"),
        config={"channels": 32, "steps": 100},
        train_config=None if reference_kind else {"lr": 2e-4, "batch_size": 16},
        metrics=[
            fake_metric("fd_physics", fd, 0.25),
            fake_metric("c2st_auc", auc, 0.02, lower_is_better=False),
            fake_metric("lit_pixels_w1", 3.0 + seed, 0.5),
        ],
        preview_images=sparse_images(12, seed),
        evaluator_version="0.1.0",
        num_parameters=None if reference_kind else num_parameters,
        training=None if reference_kind else training_record(100, 1600, 12.5, "cpu"),
        sampling=None if reference_kind else sampling_record(100, 100 / images_per_second, 1000),
        observables={
            "lit_pixels": observable_histogram(
                rng.normal(120 + 5 * seed, 20, 200),
                rng.normal(120, 20, 200),
                label="lit pixels per image",
                unit="pixels",
                bins=np.linspace(40, 200, 17),
            )
        },
        extractor_hashes={"physics": "f" * 16},
        seeds={"sample": seed, "bootstrap": 0},
        packages={"python": "3.11.7", "numpy": "2.0.0"},
        created_utc=created_utc,
    )


def problems_of(record: dict) -> list[str]:
    with pytest.raises(ResultValidationError) as caught:
        validate_result(record)
    return caught.value.problems


def test_valid_record_passes():
    record = make_record("SGM small", 9.5)
    validate_result(record)
    assert record["provenance"]["metric_versions"] == {"fd_physics": "1", "c2st_auc": "1", "lit_pixels_w1": "1"}
    assert record["sampling"]["images_per_second"] == pytest.approx(50.0)


def test_record_is_json_serialisable_strictly():
    record = make_record("SGM small", 9.5)
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text) == record


def test_missing_field_names_path():
    record = make_record("SGM small", 9.5)
    del record["metrics"][1]["ci_high"]
    problems = problems_of(record)
    assert len(problems) == 1
    assert "metrics[1]" in problems[0]
    assert "ci_high" in problems[0]
    assert "missing required" in problems[0]


def test_missing_top_level_section():
    record = make_record("SGM small", 9.5)
    del record["provenance"]
    problems = problems_of(record)
    assert any("provenance" in problem and "missing" in problem for problem in problems)


def test_wrong_type_names_value_and_type():
    record = make_record("SGM small", 9.5)
    record["num_parameters"] = "1.2M"
    problems = problems_of(record)
    assert len(problems) == 1
    assert problems[0].startswith("num_parameters is \"1.2M\" (string)")
    assert "integer" in problems[0]


def test_wrong_type_inside_nullable_section():
    record = make_record("SGM small", 9.5)
    record["training"]["steps"] = 1.5
    problems = problems_of(record)
    assert len(problems) == 1
    assert problems[0].startswith("training.steps is 1.5")


def test_nan_in_non_null_field_fails():
    record = make_record("SGM small", 9.5)
    record["sampling"]["wall_time_s"] = float("nan")
    problems = problems_of(record)
    assert any(problem.startswith("sampling.wall_time_s is nan") for problem in problems)
    assert any("finite number" in problem for problem in problems)


def test_nan_metric_value_written_as_null():
    record = make_record("Diverged GAN", None)
    metric = record["metrics"][0]
    assert metric["value"] is None
    assert metric["ci_low"] is None
    validate_result(record)


def test_numpy_values_converted_or_rejected():
    record = make_record("SGM small", 9.5)
    converted = build_result(
        dataset_name="sim64-v1", dataset_version="1.0", checksums=TEST_CHECKSUMS, kind="samples", name="file",
        family="samples", metrics=[{**record["metrics"][0], "n_real": np.int64(100), "value": np.float32(9.5)}],
        preview_images=sparse_images(2, 0), evaluator_version="0.1.0", packages={},
        config={"edges": np.arange(3)},
    )
    assert type(converted["metrics"][0]["n_real"]) is int
    assert converted["metrics"][0]["value"] == 9.5
    assert converted["submission"]["config"]["edges"] == [0, 1, 2]
    record["metrics"][0]["n_real"] = np.int64(100)
    problems = problems_of(record)
    assert len(problems) == 1
    assert problems[0].startswith("metrics[0].n_real is a numpy.int64, which JSON cannot hold")


def test_raw_nan_metric_value_fails():
    record = make_record("SGM small", 9.5)
    record["metrics"][0]["value"] = float("nan")
    problems = problems_of(record)
    assert len(problems) == 1
    assert problems[0].startswith("metrics[0].value is nan")
    assert "null" in problems[0]


def test_null_or_object_type_message():
    record = make_record("SGM small", 9.5)
    record["training"] = "fast"
    problems = problems_of(record)
    assert problems == ['training is "fast"; expected null or object.']


def test_observable_key_pattern_message():
    record = make_record("SGM small", 9.5)
    record["observables"]["track length"] = record["observables"]["lit_pixels"]
    problems = problems_of(record)
    assert len(problems) == 1
    assert problems[0].startswith('observables has key "track length"; expected a name of letters')
    assert "Rename the key" in problems[0]


def test_unknown_field_is_listed():
    record = make_record("SGM small", 9.5)
    record["submission"]["colour"] = "red"
    problems = problems_of(record)
    assert problems == [problems[0]]
    assert "['colour']" in problems[0]
    assert problems[0].startswith("submission has unknown field")


def test_enum_and_const_fields():
    record = make_record("SGM small", 9.5)
    record["submission"]["kind"] = "model"
    record["dataset"]["eval_split"] = "val"
    problems = problems_of(record)
    assert any(p.startswith("dataset.eval_split is \"val\"") and '["test"]' in p for p in problems)
    assert any(p.startswith("submission.kind is \"model\"") and "generator" in p for p in problems)


def test_semantic_checks():
    cases = {
        "duplicate metric": (lambda r: r["metrics"].append(copy.deepcopy(r["metrics"][0])), "more than once"),
        "swapped interval": (lambda r: r["metrics"][0].update(ci_low=10.0, ci_high=9.0), "swap them"),
        "one bound": (lambda r: r["metrics"][0].update(ci_high=None), "only one interval bound"),
        "histogram length": (lambda r: r["observables"]["lit_pixels"]["generated"].pop(), "expected 16"),
        "unsorted edges": (lambda r: r["observables"]["lit_pixels"]["bin_edges"].reverse(), "strictly increasing"),
        "no test checksum": (lambda r: r["dataset"]["checksums"].pop("test/images"), "'test/images'"),
        "no time zone": (lambda r: r["provenance"].update(created_utc="2024-05-01T12:00:00"), "time zone"),
        "version mismatch": (lambda r: r["provenance"]["metric_versions"].update(fd_physics="2"), "must agree"),
        "generator without model": (lambda r: r["submission"].update(model=None), "registry name"),
        "truncated preview": (lambda r: r["preview"].update(shape=[13, 64, 64]), "needs"),
    }
    for label, (mutate, expected) in cases.items():
        record = make_record("SGM small", 9.5)
        mutate(record)
        problems = problems_of(record)
        assert len(problems) == 1, f"{label}: {problems}"
        assert expected in problems[0], f"{label}: {problems[0]}"


def test_error_names_source_file(tmp_path):
    record = make_record("SGM small", 9.5)
    record["num_parameters"] = -1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record))
    with pytest.raises(ResultValidationError) as caught:
        read_result(path)
    assert str(path) in str(caught.value)
    assert "num_parameters is -1" in str(caught.value)


def test_read_rejects_nan_literal(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text('{"schema_version": NaN}')
    with pytest.raises(ResultValidationError, match="NaN, which is not valid JSON"):
        read_result(path)


def test_read_rejects_broken_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1,')
    with pytest.raises(ResultValidationError, match="not valid UTF-8 JSON"):
        read_result(path)


def test_preview_round_trip():
    images = sparse_images(7, seed=3)
    preview = encode_preview(images)
    assert preview["shape"] == [7, 64, 64]
    np.testing.assert_array_equal(decode_preview(preview), images)
    np.testing.assert_array_equal(decode_preview({"preview": preview}), images)


def test_preview_rejects_bad_input():
    with pytest.raises(ImageFormatError):
        encode_preview(np.zeros((2, 32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="at most 256"):
        encode_preview(np.zeros((257, 64, 64), dtype=np.uint8))
    preview = encode_preview(sparse_images(2, seed=0))
    with pytest.raises(ValueError, match="base64"):
        decode_preview({**preview, "data": "not base64!"})


def test_build_result_keeps_preview_count():
    record = make_record("SGM small", 9.5)
    np.testing.assert_array_equal(decode_preview(record), sparse_images(12, 0))
    images = sparse_images(50, seed=1)
    preview = build_result(
        dataset_name="sim64-v1", dataset_version="1.0", checksums=TEST_CHECKSUMS, kind="samples", name="file",
        family="samples", metrics=[fake_metric("fd_physics", 1.0)], preview_images=images, evaluator_version="0.1.0",
        packages={}, preview_count=20,
    )["preview"]
    np.testing.assert_array_equal(decode_preview(preview), images[:20])


def test_observable_histogram_densities():
    observable = observable_histogram(
        np.array([0.5, 1.5, 1.5, np.nan]), np.array([0.5, 0.5, 2.5, 3.5]), label="x", bins=[0.0, 1.0, 2.0, 4.0]
    )
    assert observable["bin_edges"] == [0.0, 1.0, 2.0, 4.0]
    np.testing.assert_allclose(observable["generated"], [1 / 3, 2 / 3, 0.0])
    np.testing.assert_allclose(observable["reference"], [0.5, 0.0, 0.25])
    widths = np.diff(observable["bin_edges"])
    assert math.isclose(float(np.dot(observable["reference"], widths)), 1.0)


def test_package_versions_and_git_commit(tmp_path):
    versions = package_versions(["numpy", "no-such-package-xyz"])
    assert versions["numpy"] == np.__version__
    assert "no-such-package-xyz" not in versions
    assert "python" in versions
    assert git_commit(tmp_path) is None


def test_write_load_round_trip(tmp_path):
    first = make_record("SGM small", 9.5, created_utc="2024-05-01T12:00:00Z")
    second = make_record("GAN tiny", 20.0, family="gan", seed=1, created_utc="2024-05-02T08:30:00+00:00")
    path_first = write_result(first, tmp_path)
    path_second = write_result(second, tmp_path)
    assert path_first == tmp_path / "sim64-v1" / "sgm-small-20240501T120000Z.json"
    assert path_second.name == "gan-tiny-20240502T083000Z.json"
    loaded = load_results(tmp_path, "sim64-v1")
    assert [result.run_id for result in loaded] == ["gan-tiny-20240502T083000Z", "sgm-small-20240501T120000Z"]
    assert loaded[1].record == first
    assert loaded[0].record == second
    assert not list((tmp_path / "sim64-v1").glob(".*"))


def test_write_refuses_overwrite_and_invalid(tmp_path):
    record = make_record("SGM small", 9.5)
    path = write_result(record, tmp_path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_result(make_record("SGM small", 8.0), tmp_path)
    broken = make_record("SGM small", 8.0)
    broken["metrics"] = []
    with pytest.raises(ResultValidationError):
        write_result(broken, tmp_path, overwrite=True)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="safe file name"):
        write_result(record, tmp_path, run_id="../escape")
    write_result(make_record("SGM small", 8.0), tmp_path, overwrite=True)
    assert json.loads(path.read_text())["metrics"][0]["value"] == 8.0


def test_load_rejects_mixed_dataset_versions(tmp_path):
    write_result(make_record("SGM small", 9.5), tmp_path)
    other = make_record("GAN tiny", 20.0, created_utc="2024-06-01T00:00:00Z")
    other["dataset"]["version"] = "2.0"
    write_result(other, tmp_path)
    with pytest.raises(ValueError, match="different dataset versions"):
        load_results(tmp_path, "sim64-v1")


def test_load_names_invalid_file_and_missing_folder(tmp_path):
    path = write_result(make_record("SGM small", 9.5), tmp_path)
    record = json.loads(path.read_text())
    record["metrics"][0]["n_real"] = "many"
    path.write_text(json.dumps(record))
    with pytest.raises(ResultValidationError) as caught:
        load_results(tmp_path, "sim64-v1")
    assert str(path) in str(caught.value)
    assert "metrics[0].n_real" in str(caught.value)
    with pytest.raises(FileNotFoundError, match="other-v1"):
        load_results(tmp_path, "other-v1")


def test_make_run_id_slug():
    record = make_record("My Model / v2 (β)", 1.0, created_utc="2024-05-01T14:00:00.123456+02:00")
    assert make_run_id(record) == "my-model-v2-20240501T120000Z"
