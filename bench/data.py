"""Load the splits a run or an evaluation needs, from the catalog or a split file."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from lartpcbench.datasets.catalog import ensure_dataset
from lartpcbench.datasets.splits import SplitData, read_split, read_split_attrs

from .config import DatasetOptions

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunData:
    """The three splits of one dataset version with its identity and checksums."""

    name: str
    version: str
    split_file: Path
    checksums: dict[str, str]
    train: SplitData
    val: SplitData
    test: SplitData

    def reference_images(self, count: int) -> np.ndarray:
        """Return the first ``count`` test images (the split is stored shuffled)."""
        return self.test.images[: min(count, len(self.test))]


def resolve_split_file(options: DatasetOptions, *, data_dir: Path | None = None, progress: bool = True) -> Path:
    """Return the split file to use: the given path, or the catalog dataset (built if missing)."""
    if options.split_file:
        path = Path(options.split_file)
        if not path.is_file():
            raise FileNotFoundError(
                f"split file {path} not found; create it with `lartpc-bench data build|crop|import` or fix the path."
            )
        return path
    return ensure_dataset(options.name, data_dir, progress=progress)


def load_run_data(options: DatasetOptions, *, data_dir: Path | None = None, progress: bool = True) -> RunData:
    """Load and verify train, val and test; ``max_train_images`` > 0 keeps only the first ones."""
    path = resolve_split_file(options, data_dir=data_dir, progress=progress)
    attrs = read_split_attrs(path)
    splits = {name: read_split(path, name) for name in ("train", "val", "test")}
    train = splits["train"]
    if options.max_train_images and options.max_train_images < len(train):
        train = SplitData(
            train.images[: options.max_train_images],
            train.labels[: options.max_train_images],
            None if train.semantic is None else train.semantic[: options.max_train_images],
            None if train.truth is None else train.truth[: options.max_train_images],
        )
    logger.info("loaded %s (%s): %s", attrs.get("dataset"), path, attrs.get("sizes"))
    return RunData(
        name=str(attrs.get("dataset", path.stem)),
        version=str(attrs.get("version", "")),
        split_file=path,
        checksums=dict(attrs.get("checksums", {})),
        train=train,
        val=splits["val"],
        test=splits["test"],
    )
