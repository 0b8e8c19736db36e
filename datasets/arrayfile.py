"""Read one numeric array from an npy, npz or HDF5 file, with pickles disabled."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

ARRAY_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5")


class ArrayFileError(ValueError):
    """An array file that cannot be read or contains no single unambiguous array."""


def read_array(path: str | os.PathLike, *, key: str | None = None) -> np.ndarray:
    """Return the array stored in ``path``.

    ``.npy`` files hold one array. For ``.npz`` and HDF5 files, ``key`` names the array (an
    HDF5 path such as ``train/images`` works); without it the file must contain exactly one
    array, except that a split file's ``train/images`` is never guessed. Raises
    ``FileNotFoundError`` for a missing file and ``ArrayFileError`` naming the fix otherwise.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"array file {file_path} not found; check the path.")
    suffix = file_path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise ArrayFileError(
            f"{file_path} has suffix {suffix!r}; expected one of {list(ARRAY_SUFFIXES)} (npy, npz or HDF5)."
        )
    try:
        if suffix == ".npy":
            return np.load(file_path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(file_path, allow_pickle=False) as archive:
                return archive[_pick_key(file_path, list(archive.files), key)]
        with h5py.File(file_path, "r") as handle:
            names: list[str] = []
            handle.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
            return handle[_pick_key(file_path, names, key)][()]
    except (ValueError, OSError) as error:
        if isinstance(error, ArrayFileError):
            raise
        raise ArrayFileError(f"cannot read {file_path}: {error}. The file may be truncated or hold pickled objects.") from error


def _pick_key(file_path: Path, names: list[str], key: str | None) -> str:
    if key is not None:
        if key not in names:
            raise ArrayFileError(f"{file_path} has no array {key!r}; it contains {names}. Pass one of these as the key.")
        return key
    if len(names) != 1:
        raise ArrayFileError(f"{file_path} contains {len(names)} arrays {names}; name the one to use with a key.")
    return names[0]
