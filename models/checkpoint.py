"""Checkpoints as data: a ``state.pt`` of state_dicts and tensors plus a ``checkpoint.json``.

``checkpoint.json`` records the generator name, its config, the step, package versions and
the SHA-256 of ``state.pt``; loading checks that hash before ``torch.load(weights_only=True)``,
so a truncated or swapped file gets a clear error instead of a half-loaded model.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lartpcbench.datasets.fileio import atomic_path, write_text_atomic

STATE_FILE = "state.pt"
META_FILE = "checkpoint.json"


class CheckpointError(RuntimeError):
    """A checkpoint folder that is missing, truncated or inconsistent."""


def save_checkpoint(directory: str | Path, state: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Write ``state`` (tensors, state_dicts, numbers) and ``metadata`` (JSON) to ``directory``.

    ``state.pt`` is written first and ``checkpoint.json`` last, each atomically, so a run killed
    mid-save leaves either the previous checkpoint or a complete new one.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / STATE_FILE) as temporary:
        torch.save(state, temporary)
        digest = _sha256(temporary)
    record = dict(metadata)
    record["state_sha256"] = digest
    record["versions"] = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}
    write_text_atomic(folder / META_FILE, json.dumps(record, indent=2, sort_keys=True))


def load_checkpoint(directory: str | Path, *, map_location: str = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(state, metadata)`` from a checkpoint folder, verifying the state file's hash."""
    folder = Path(directory)
    meta_path, state_path = folder / META_FILE, folder / STATE_FILE
    if not meta_path.is_file() or not state_path.is_file():
        raise CheckpointError(
            f"no complete checkpoint in {folder}: expected {META_FILE} and {STATE_FILE}. "
            "Train the model first or point to the folder that `save` wrote."
        )
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{meta_path} is not valid JSON ({error}); the checkpoint is damaged.") from error
    expected = metadata.get("state_sha256")
    actual = _sha256(state_path)
    if expected != actual:
        raise CheckpointError(
            f"{state_path} does not match its recorded SHA-256 (recorded {str(expected)[:12]}..., "
            f"found {actual[:12]}...): the file is truncated or was replaced. Delete the folder to retrain, "
            "or restore the original file."
        )
    state = torch.load(state_path, map_location=map_location, weights_only=True)
    return state, metadata


def has_checkpoint(directory: str | Path | None) -> bool:
    """Return True when ``directory`` contains a checkpoint written by ``save_checkpoint``."""
    return directory is not None and (Path(directory) / META_FILE).is_file()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
