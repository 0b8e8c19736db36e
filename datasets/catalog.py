"""The dataset catalog: names mapped to a builder and a pinned manifest.

A manifest (``datasets/manifests/<name>.json``) fixes a dataset's version, split sizes,
seed, simulator parameters and the expected SHA-256 of every array. Building a name
twice gives byte-identical arrays, and ``build_dataset`` checks them against the manifest.
After a change to the simulator, re-pin the manifests with

    python -m lartpcbench.datasets.catalog --pin sim64-smoke-v1 sim64-v1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from .fileio import write_text_atomic
from .splits import SPLIT_NAMES, SplitData, array_sha256, write_split_file
from .sim import SIMULATOR_VERSION, SimConfig, simulate_images

logger = logging.getLogger(__name__)

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
DATA_DIR_ENV = "LARTPCBENCH_DATA"
SIMULATOR_BUILDER = "simulator"
# Names in the catalog and how each is built.
_BUILDERS = {"sim64-v1": SIMULATOR_BUILDER, "sim64-smoke-v1": SIMULATOR_BUILDER}


class UnknownDatasetError(KeyError):
    """A dataset name that the catalog does not contain."""

    def __str__(self) -> str:
        return str(self.args[0])


class ManifestMismatchError(ValueError):
    """A built dataset whose arrays differ from the checksums pinned in its manifest."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A catalog entry: name, version, builder, split sizes, seed, simulator config and pinned checksums.

    ``checksums`` maps "split/array" to SHA-256; it is empty for a manifest never pinned.
    """

    name: str
    version: str
    builder: str
    description: str
    split_sizes: dict[str, int]
    seed: int
    sim_config: SimConfig
    simulator_version: str
    checksums: dict[str, str]

    @property
    def source(self) -> str:
        return f"simulator lartpcbench.datasets.sim {self.simulator_version}"


def available_datasets() -> list[str]:
    """Return the names of the catalog's datasets, sorted."""
    return sorted(_BUILDERS)


def manifest_path(name: str) -> Path:
    """Return the path of the pinned manifest of ``name``."""
    _check_name(name)
    return MANIFEST_DIR / f"{name}.json"


def get_dataset_spec(name: str) -> DatasetSpec:
    """Return the catalog entry of ``name``, read from its manifest."""
    path = manifest_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} of dataset {name!r} is missing; reinstall lartpc-bench.")
    record = json.loads(path.read_text(encoding="utf-8"))
    return DatasetSpec(
        name=record["name"],
        version=record["version"],
        builder=_BUILDERS[name],
        description=record.get("description", ""),
        split_sizes={split: int(record["split_sizes"][split]) for split in SPLIT_NAMES},
        seed=int(record["seed"]),
        sim_config=SimConfig.from_dict(record["generator_params"], where=str(path)),
        simulator_version=record["simulator_version"],
        checksums=dict(record.get("checksums") or {}),
    )


def default_data_dir() -> Path:
    """Return the folder for built datasets: $LARTPCBENCH_DATA, else ~/.cache/lartpcbench/datasets."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "lartpcbench" / "datasets"


def dataset_path(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the split-file path of ``name`` inside ``data_dir`` (default ``default_data_dir()``)."""
    _check_name(name)
    return Path(data_dir).expanduser() / f"{name}.h5" if data_dir is not None else default_data_dir() / f"{name}.h5"


def build_dataset(
    name: str,
    path: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
    verify_manifest: bool = True,
) -> Path:
    """Build dataset ``name`` into a split file at ``path`` (default ``dataset_path(name)``) and return the path.

    The arrays are checked against the manifest's checksums before anything is written;
    a mismatch raises ``ManifestMismatchError`` unless ``verify_manifest`` is False.
    """
    spec = get_dataset_spec(name)
    target = Path(path) if path is not None else dataset_path(name)
    splits = simulate_splits(spec, workers=workers, progress=progress)
    if verify_manifest:
        check_against_manifest(spec, splits)
    _write(spec, splits, target)
    return target


def _write(spec: DatasetSpec, splits: dict[str, SplitData], target: Path) -> None:
    write_split_file(
        target,
        splits,
        dataset=spec.name,
        version=spec.version,
        source=spec.source,
        generator_params=spec.sim_config.to_dict(),
        seed=spec.seed,
    )
    logger.info("built dataset %s at %s", spec.name, target)


def ensure_dataset(
    name: str, data_dir: str | os.PathLike | None = None, *, workers: int | None = None, progress: bool = True
) -> Path:
    """Return the split file of ``name``, building it first when it does not exist."""
    target = dataset_path(name, data_dir)
    if target.is_file():
        return target
    spec = get_dataset_spec(name)
    logger.info(
        "dataset %s is not built yet; simulating %d images into %s (about 10 ms of CPU per image)",
        name, sum(spec.split_sizes.values()), target,
    )
    return build_dataset(name, target, workers=workers, progress=progress)


def simulate_splits(spec: DatasetSpec, *, workers: int | None = None, progress: bool = True) -> dict[str, SplitData]:
    """Simulate the three splits of ``spec``; split i uses random stream i, so splits share no events."""
    return {
        split: simulate_images(
            spec.split_sizes[split], seed=spec.seed, config=spec.sim_config, workers=workers,
            stream=stream, progress=progress,
        )
        for stream, split in enumerate(SPLIT_NAMES)
    }


def split_checksums(splits: dict[str, SplitData]) -> dict[str, str]:
    """Return the SHA-256 of every array, keyed "split/array" as in split files."""
    return {f"{split}/{key}": array_sha256(array) for split, data in splits.items() for key, array in data.arrays().items()}


def check_against_manifest(spec: DatasetSpec, splits: dict[str, SplitData]) -> None:
    """Raise ``ManifestMismatchError`` when the arrays differ from the checksums pinned for ``spec``.

    NOTE: the pinned checksums come from numpy 2 on x86-64 Linux. numpy's vectorised exp and
    log may round the last bit differently on other CPUs or versions, which fails this check there.
    """
    if not spec.checksums:
        raise ManifestMismatchError(
            f"manifest of {spec.name} pins no checksums; pin it with "
            f"`python -m lartpcbench.datasets.catalog --pin {spec.name}` or build with verify_manifest=False."
        )
    actual = split_checksums(splits)
    differing = sorted(key for key in set(actual) | set(spec.checksums) if actual.get(key) != spec.checksums.get(key))
    if differing:
        raise ManifestMismatchError(
            f"dataset {spec.name} built with simulator {SIMULATOR_VERSION} differs from its manifest in "
            f"{differing}. The simulator, its numerical libraries or the CPU's floating-point code paths "
            "differ from those of the pinned build. Re-pin with "
            f"`python -m lartpcbench.datasets.catalog --pin {spec.name}` after checking the change, "
            "or build with verify_manifest=False."
        )


def pin_manifest(
    name: str, path: str | os.PathLike | None = None, *, workers: int | None = None, progress: bool = True
) -> dict[str, str]:
    """Build ``name``, write it to ``path`` (default ``dataset_path(name)``) and pin its checksums.

    The checksums and the current simulator version are written into the manifest in the
    source tree; returns the checksums.
    """
    spec = get_dataset_spec(name)
    splits = simulate_splits(spec, workers=workers, progress=progress)
    checksums = split_checksums(splits)
    manifest = manifest_path(name)
    record: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    record["simulator_version"] = SIMULATOR_VERSION
    record["checksums"] = checksums
    write_text_atomic(manifest, json.dumps(record, indent=2) + "\n")
    logger.info("pinned %d checksums for %s in %s", len(checksums), name, manifest)
    _write(get_dataset_spec(name), splits, Path(path) if path is not None else dataset_path(name))
    return checksums


def _check_name(name: str) -> None:
    if name not in _BUILDERS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {available_datasets()}.")


def main(argv: list[str] | None = None) -> int:
    """Build datasets and pin their manifests from the command line (``--pin NAME ...``)."""
    parser = argparse.ArgumentParser(prog="python -m lartpcbench.datasets.catalog", description=__doc__.splitlines()[0])
    parser.add_argument("--pin", nargs="+", metavar="NAME", required=True, help="datasets whose manifests to re-pin")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPU cores)")
    parser.add_argument(
        "--data-dir", default=None, help=f"folder for the built split files (default: ${DATA_DIR_ENV} or {default_data_dir()})"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in arguments.pin:
        pin_manifest(name, dataset_path(name, arguments.data_dir), workers=arguments.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
