"""Split files: one HDF5 file with groups ``train``, ``val`` and ``test``.

Each group contains ``images`` (N, 64, 64) uint8, ``labels`` (N,) int8 (0 track, 1 shower,
-1 unknown) and, where known, ``semantic`` (N, 64, 64) uint8 per-pixel classes and
``truth``, a compound table with one row per image. File attributes record the dataset name
and version, its source, the generator's parameters and seed, and the SHA-256 of every
array; reading verifies the checksums.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .fileio import atomic_path
from .images import validate_images

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
FORMAT_VERSION = 1

LABEL_TRACK = 0
LABEL_SHOWER = 1
LABEL_UNKNOWN = -1

# Per-pixel semantic classes, index = value stored in ``semantic``.
SEMANTIC_CLASSES = ("background", "shower", "track", "michel", "delta", "low_energy")


class SplitFileError(ValueError):
    """A split file that is missing, malformed or fails its checksums."""


@dataclasses.dataclass
class SplitData:
    """One split: images (N, 64, 64) uint8, labels (N,) int8, optional semantic and truth."""

    images: np.ndarray
    labels: np.ndarray
    semantic: np.ndarray | None = None
    truth: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.images = validate_images(self.images, name="split images")
        count = self.images.shape[0]
        self.labels = np.asarray(self.labels)
        if self.labels.shape != (count,):
            raise SplitFileError(f"labels have shape {self.labels.shape}; expected ({count},), one per image.")
        if not np.isin(self.labels, (LABEL_TRACK, LABEL_SHOWER, LABEL_UNKNOWN)).all():
            raise SplitFileError("labels must be 0 (track), 1 (shower) or -1 (unknown).")
        self.labels = self.labels.astype(np.int8)
        if self.semantic is not None:
            self.semantic = np.asarray(self.semantic)
            if self.semantic.shape != self.images.shape:
                raise SplitFileError(
                    f"semantic has shape {self.semantic.shape}; expected {self.images.shape}, one class per pixel."
                )
            if self.semantic.max(initial=0) >= len(SEMANTIC_CLASSES):
                raise SplitFileError(f"semantic classes must lie in 0-{len(SEMANTIC_CLASSES) - 1}.")
            self.semantic = self.semantic.astype(np.uint8)
        if self.truth is not None and len(self.truth) != count:
            raise SplitFileError(f"truth has {len(self.truth)} rows; expected {count}, one per image.")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the arrays that are present, by their dataset name in the file."""
        named = {"images": self.images, "labels": self.labels, "semantic": self.semantic, "truth": self.truth}
        return {key: value for key, value in named.items() if value is not None}


def array_sha256(array: np.ndarray) -> str:
    """Return the SHA-256 of an array's dtype, shape and C-order bytes."""
    digest = hashlib.sha256()
    digest.update(str(array.dtype.descr if array.dtype.names else array.dtype.str).encode())
    digest.update(str(tuple(array.shape)).encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def write_split_file(
    path: str | os.PathLike,
    splits: dict[str, SplitData],
    *,
    dataset: str,
    version: str,
    source: str,
    generator_params: dict[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, str]:
    """Write ``splits`` to an HDF5 split file atomically and return the checksums.

    ``splits`` maps names from ``SPLIT_NAMES`` to ``SplitData``; ``generator_params`` must
    be JSON-serialisable. An existing file at ``path`` is replaced only when writing succeeds.
    """
    unknown = sorted(set(splits) - set(SPLIT_NAMES))
    if unknown:
        raise SplitFileError(f"unknown split names {unknown}; expected a subset of {list(SPLIT_NAMES)}.")
    checksums: dict[str, str] = {}
    with atomic_path(path) as temporary, h5py.File(temporary, "w", track_order=True) as handle:
        for split_name, data in splits.items():
            group = handle.create_group(split_name)
            for key, array in data.arrays().items():
                _write_array(group, key, array)
                checksums[f"{split_name}/{key}"] = array_sha256(array)
        handle.attrs["format_version"] = FORMAT_VERSION
        handle.attrs["dataset"] = dataset
        handle.attrs["version"] = version
        handle.attrs["source"] = source
        handle.attrs["generator_params"] = json.dumps(generator_params or {}, sort_keys=True)
        handle.attrs["seed"] = -1 if seed is None else int(seed)
        handle.attrs["checksums"] = json.dumps(checksums, sort_keys=True)
    logger.info("wrote split file %s (%s)", path, ", ".join(f"{k}: {len(v)}" for k, v in splits.items()))
    return checksums


def _write_array(group: h5py.Group, key: str, array: np.ndarray) -> None:
    if array.ndim == 3:
        chunks = (min(len(array), 256), array.shape[1], array.shape[2])
        group.create_dataset(key, data=array, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True)
    else:
        group.create_dataset(key, data=array)


def read_split_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """Return a split file's attributes, with JSON fields decoded, and its split sizes."""
    with _open(path) as handle:
        attrs = {key: _decode(value) for key, value in handle.attrs.items()}
        for key in ("generator_params", "checksums"):
            if key in attrs:
                attrs[key] = json.loads(attrs[key])
        attrs["sizes"] = {name: int(handle[name]["images"].shape[0]) for name in SPLIT_NAMES if name in handle}
    return attrs


def read_split(path: str | os.PathLike, split: str, *, verify: bool = True) -> SplitData:
    """Read one split from a split file, verifying every array's SHA-256 unless ``verify`` is False."""
    if split not in SPLIT_NAMES:
        raise SplitFileError(f"unknown split {split!r}; expected one of {list(SPLIT_NAMES)}.")
    with _open(path) as handle:
        if split not in handle:
            present = [name for name in SPLIT_NAMES if name in handle]
            raise SplitFileError(f"split file {path} has no {split!r} split; it contains {present}.")
        checksums = json.loads(_decode(handle.attrs.get("checksums", "{}")))
        arrays = {key: handle[split][key][()] for key in ("images", "labels", "semantic", "truth") if key in handle[split]}
    if verify:
        for key, array in arrays.items():
            expected = checksums.get(f"{split}/{key}")
            if expected is None:
                raise SplitFileError(f"split file {path} records no checksum for {split}/{key}; rebuild or re-import it.")
            actual = array_sha256(array)
            if actual != expected:
                raise SplitFileError(
                    f"checksum mismatch for {split}/{key} in {path}: recorded {expected[:12]}..., "
                    f"computed {actual[:12]}.... The file is corrupted or was modified; rebuild it with "
                    "`lartpc-bench data build` or re-import the source data."
                )
    return SplitData(**arrays)


def _open(path: str | os.PathLike) -> h5py.File:
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(
            f"split file {file_path} not found; build one with `lartpc-bench data build`, "
            "`lartpc-bench data crop` or `lartpc-bench data import`."
        )
    try:
        return h5py.File(file_path, "r")
    except OSError as error:
        raise SplitFileError(f"{file_path} is not a readable HDF5 split file ({error}).") from error


def _decode(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value
