"""Turn N x 64 x 64 array files (npy, npz, HDF5) into a split file.

Written for the reference set's ``larcv_png_64_{train,test}_{tracks,showers}.npy`` files and for
users' own data. Labels come from the option or, with ``"auto"``, from the file name
(``track`` or ``shower`` in it). When some input names contain ``test``, those files form the
test split and the others are divided into train and val; otherwise all images are pooled and
divided in the given fractions.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from .arrayfile import read_array
from .images import validate_images
from .splits import LABEL_SHOWER, LABEL_TRACK, LABEL_UNKNOWN, SplitData

logger = logging.getLogger(__name__)

LABEL_CHOICES = {"track": LABEL_TRACK, "shower": LABEL_SHOWER, "unknown": LABEL_UNKNOWN}


@dataclasses.dataclass
class ImportedFile:
    """One input file's images and the label and role assigned to it."""

    path: Path
    images: np.ndarray
    label: int
    is_test: bool


def label_from_name(path: Path, label: str) -> int:
    """Return the int8 label for ``path``: the named label, or from the file name with ``auto``."""
    if label != "auto":
        if label not in LABEL_CHOICES:
            raise ValueError(f"label is {label!r}; expected one of {['auto', *LABEL_CHOICES]}.")
        return LABEL_CHOICES[label]
    name = path.name.lower()
    has_track, has_shower = "track" in name, "shower" in name
    if has_track == has_shower:
        return LABEL_UNKNOWN
    return LABEL_TRACK if has_track else LABEL_SHOWER


def read_inputs(paths: list[str | os.PathLike], *, key: str | None = None, label: str = "auto") -> list[ImportedFile]:
    """Read and validate each input file as (N, 64, 64) images on the 0-255 scale."""
    if not paths:
        raise ValueError("no input files given; pass at least one npy, npz or HDF5 file.")
    inputs = []
    for raw_path in paths:
        path = Path(raw_path)
        images = validate_images(read_array(path, key=key), name=str(path), allow_float=True)
        file_label = label_from_name(path, label)
        inputs.append(ImportedFile(path, images, file_label, "test" in path.stem.lower()))
        logger.info("read %d images from %s (label %d)", len(images), path, file_label)
    return inputs


def split_imported(
    inputs: list[ImportedFile], *, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> dict[str, SplitData]:
    """Divide imported images into train, val and test ``SplitData`` with a seeded shuffle."""
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction {val_fraction} and test_fraction {test_fraction} must be fractions in (0, 1) "
            "that sum to less than 1."
        )
    rng = np.random.default_rng(seed)
    has_test_files = any(item.is_test for item in inputs)
    pool = [item for item in inputs if not (has_test_files and item.is_test)]
    images = np.concatenate([item.images for item in pool])
    labels = np.concatenate([np.full(len(item.images), item.label, np.int8) for item in pool])
    order = rng.permutation(len(images))
    images, labels = images[order], labels[order]

    num_val = int(round(val_fraction * len(images)))
    num_test = 0 if has_test_files else int(round(test_fraction * len(images)))
    if num_val < 1 or len(images) - num_val - num_test < 1 or (not has_test_files and num_test < 1):
        raise ValueError(
            f"{len(images)} images cannot fill train, val and test with fractions {val_fraction}/{test_fraction}; "
            "supply more images or larger fractions."
        )
    splits = {"val": SplitData(images[:num_val], labels[:num_val])}
    if has_test_files:
        test_items = [item for item in inputs if item.is_test]
        test_images = np.concatenate([item.images for item in test_items])
        test_labels = np.concatenate([np.full(len(item.images), item.label, np.int8) for item in test_items])
        test_order = rng.permutation(len(test_images))
        splits["test"] = SplitData(test_images[test_order], test_labels[test_order])
    else:
        splits["test"] = SplitData(images[num_val : num_val + num_test], labels[num_val : num_val + num_test])
    splits["train"] = SplitData(images[num_val + num_test :], labels[num_val + num_test :])
    return {name: splits[name] for name in ("train", "val", "test")}
