"""The dataset catalog: names, paths, manifests, building, verification and pinning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lartpcbench.datasets import catalog
from lartpcbench.datasets.sim import SIMULATOR_VERSION, SimConfig
from lartpcbench.datasets.splits import SPLIT_NAMES, read_split, read_split_attrs

TINY = "tiny-test-v1"


@pytest.fixture()
def tiny_catalog(tmp_path, monkeypatch):
    """A catalog with one extra dataset of 3/2/2 images whose manifest lives in tmp_path."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for name in catalog.available_datasets():
        (manifests / f"{name}.json").write_text((catalog.MANIFEST_DIR / f"{name}.json").read_text())
    record = {
        "name": TINY,
        "version": "1",
        "description": "tiny catalog entry for tests",
        "split_sizes": {"train": 3, "val": 2, "test": 2},
        "seed": 77,
        "simulator_version": SIMULATOR_VERSION,
        "generator_params": SimConfig(max_particles=2).to_dict(),
        "checksums": {},
    }
    (manifests / f"{TINY}.json").write_text(json.dumps(record))
    monkeypatch.setattr(catalog, "MANIFEST_DIR", manifests)
    monkeypatch.setitem(catalog._BUILDERS, TINY, catalog.SIMULATOR_BUILDER)
    monkeypatch.setenv(catalog.DATA_DIR_ENV, str(tmp_path / "data"))
    return manifests / f"{TINY}.json"


def test_catalog_lists_required_datasets():
    names = catalog.available_datasets()
    assert "sim64-v1" in names
    assert "sim64-smoke-v1" in names


@pytest.mark.parametrize(
    ("name", "sizes"),
    [("sim64-v1", (50_000, 10_000, 10_000)), ("sim64-smoke-v1", (1_000, 250, 250))],
)
def test_manifests_pin_sizes_and_checksums(name, sizes):
    spec = catalog.get_dataset_spec(name)
    assert tuple(spec.split_sizes[split] for split in SPLIT_NAMES) == sizes
    assert spec.simulator_version == SIMULATOR_VERSION
    expected_keys = {f"{split}/{key}" for split in SPLIT_NAMES for key in ("images", "labels", "semantic", "truth")}
    assert set(spec.checksums) == expected_keys
    assert spec.source == f"simulator lartpcbench.datasets.sim {SIMULATOR_VERSION}"


def test_smoke_manifest_reproduces_val_split():
    spec = catalog.get_dataset_spec("sim64-smoke-v1")
    val = catalog.simulate_images(spec.split_sizes["val"], seed=spec.seed, config=spec.sim_config, stream=1)
    for key, checksum in catalog.split_checksums({"val": val}).items():
        assert checksum == spec.checksums[key], key


def test_unknown_name_lists_known_names():
    with pytest.raises(catalog.UnknownDatasetError, match="sim64-v1"):
        catalog.get_dataset_spec("sim64-v9")
    with pytest.raises(catalog.UnknownDatasetError, match="known datasets"):
        catalog.dataset_path("nope")


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(catalog.DATA_DIR_ENV, str(tmp_path))
    assert catalog.default_data_dir() == tmp_path
    assert catalog.dataset_path("sim64-v1") == tmp_path / "sim64-v1.h5"
    assert catalog.dataset_path("sim64-v1", tmp_path / "other") == tmp_path / "other" / "sim64-v1.h5"
    monkeypatch.delenv(catalog.DATA_DIR_ENV)
    assert catalog.default_data_dir().parts[-3:] == (".cache", "lartpcbench", "datasets")


def test_unpinned_manifest_refuses_verified_build(tiny_catalog, tmp_path):
    with pytest.raises(catalog.ManifestMismatchError, match="pins no checksums"):
        catalog.build_dataset(TINY, tmp_path / "out.h5", workers=1, progress=False)
    assert not (tmp_path / "out.h5").exists()


def test_build_pin_verify_round_trip(tiny_catalog, tmp_path):
    first = catalog.build_dataset(TINY, tmp_path / "first.h5", workers=1, progress=False, verify_manifest=False)
    attrs = read_split_attrs(first)
    assert attrs["dataset"] == TINY
    assert attrs["version"] == "1"
    assert attrs["source"] == f"simulator lartpcbench.datasets.sim {SIMULATOR_VERSION}"
    assert attrs["seed"] == 77
    assert attrs["generator_params"] == SimConfig(max_particles=2).to_dict()
    assert attrs["sizes"] == {"train": 3, "val": 2, "test": 2}

    checksums = catalog.pin_manifest(TINY, tmp_path / "pinned.h5", workers=1, progress=False)
    assert json.loads(tiny_catalog.read_text())["checksums"] == checksums
    second = catalog.build_dataset(TINY, tmp_path / "second.h5", workers=1, progress=False)
    for split in SPLIT_NAMES:
        a, b = read_split(first, split), read_split(second, split)
        for key, array in a.arrays().items():
            assert np.array_equal(array, b.arrays()[key]), f"{split}/{key}"


def test_changed_manifest_raises_and_writes_nothing(tiny_catalog, tmp_path):
    catalog.pin_manifest(TINY, tmp_path / "pinned.h5", workers=1, progress=False)
    record = json.loads(tiny_catalog.read_text())
    record["checksums"]["val/images"] = "0" * 64
    tiny_catalog.write_text(json.dumps(record))
    with pytest.raises(catalog.ManifestMismatchError, match="val/images"):
        catalog.build_dataset(TINY, tmp_path / "bad.h5", workers=1, progress=False)
    assert not (tmp_path / "bad.h5").exists()


def test_ensure_dataset_builds_once(tiny_catalog, tmp_path):
    catalog.pin_manifest(TINY, tmp_path / "pinned.h5", workers=1, progress=False)
    path = catalog.ensure_dataset(TINY, workers=1, progress=False)
    assert path == tmp_path / "data" / f"{TINY}.h5"
    modified = path.stat().st_mtime_ns
    assert catalog.ensure_dataset(TINY, workers=1, progress=False) == path
    assert path.stat().st_mtime_ns == modified
