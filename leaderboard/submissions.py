"""Checks for sample-file submissions: (N, 64, 64) images in .npy, .npz or HDF5 files.

Files are only read, never modified. Pickled objects are rejected (``allow_pickle=False``),
so a sample file cannot carry code.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import h5py
import numpy as np

from lartpcbench.datasets.images import IMAGE_SIZE, validate_images

logger = logging.getLogger(__name__)

NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
HDF5_SUFFIXES = (".h5", ".hdf5")
SUPPORTED_SUFFIXES = NPY_SUFFIXES + NPZ_SUFFIXES + HDF5_SUFFIXES
NPY_MAGIC = b"\x93NUMPY"


class SampleFileError(ValueError):
    """A sample file that cannot be read or does not hold one (N, 64, 64) image array."""


def load_sample_file(path: str | os.PathLike, *, key: str | None = None, min_images: int = 1) -> np.ndarray:
    """Load and check a file of generated samples; return (N, 64, 64) uint8 images.

    Formats, chosen by suffix:

    - ``.npy``: one array.
    - ``.npz``: the array named ``key``, or the only array in the file.
    - ``.h5``/``.hdf5``: the dataset at ``key`` (a dataset, or a group holding ``images``),
      or else the only (N, 64, 64) dataset in the file, or else the only such dataset
      named ``images``.

    Floating-point arrays are accepted when every value is a whole number in 0-255.
    Raises ``FileNotFoundError`` for a missing file, ``SampleFileError`` for a file that
    cannot be read or an ambiguous or missing ``key``, and ``ImageFormatError`` (both are
    ``ValueError``) for a wrong shape, dtype, value range, NaN, or fewer than
    ``min_images`` images.
    """
    file_path = Path(path)
    if min_images < 1:
        raise ValueError(f"min_images is {min_images}; expected at least 1.")
    if not file_path.is_file():
        raise FileNotFoundError(
            f"sample file {file_path} not found (absolute path {file_path.absolute()}); check the path."
        )
    suffix = file_path.suffix.lower()
    if suffix in NPY_SUFFIXES:
        if key is not None:
            raise SampleFileError(f"key {key!r} was given but {file_path} is a .npy file with one array; drop key.")
        array = _load_npy(file_path)
        where = str(file_path)
    elif suffix in NPZ_SUFFIXES:
        array, name = _load_npz(file_path, key)
        where = f"{file_path}[{name!r}]"
    elif suffix in HDF5_SUFFIXES:
        array, name = _load_hdf5(file_path, key)
        where = f"{file_path}:{name}"
    else:
        raise SampleFileError(
            f"sample file {file_path} has suffix {suffix!r}; expected one of {list(SUPPORTED_SUFFIXES)}. "
            "Save the images with np.save, np.savez or h5py."
        )

    images = validate_images(array, name=f"samples in {where}", allow_float=True)
    if images.shape[0] < min_images:
        raise SampleFileError(
            f"samples in {where} contain {images.shape[0]} images; expected at least {min_images}. "
            "Generate more samples."
        )
    logger.info("loaded %d sample images from %s", images.shape[0], where)
    return images


def _load_npy(path: Path) -> np.ndarray:
    # np.load treats a file without the .npy magic string as a pickle, so check it first.
    with open(path, "rb") as handle:
        magic = handle.read(len(NPY_MAGIC))
    if magic != NPY_MAGIC:
        raise SampleFileError(
            f"{path} is not a readable .npy file (it does not start with the .npy magic string); "
            "save the images with np.save."
        )
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        raise SampleFileError(
            f"{path} could not be read as a .npy array ({error}). Object arrays and pickles are rejected; "
            "save a numeric array with np.save."
        ) from error
    except OSError as error:
        raise SampleFileError(f"{path} is not a readable .npy file ({error}).") from error


def _load_npz(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    if not zipfile.is_zipfile(path):
        raise SampleFileError(f"{path} is not a readable .npz archive (not a zip file); save the images with np.savez.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if key is None:
                if len(names) != 1:
                    raise SampleFileError(
                        f"{path} contains {len(names)} arrays {names}; pass key= to choose the images."
                    )
                key = names[0]
            if key not in names:
                raise SampleFileError(f"{path} has no array {key!r}; it contains {names}.")
            return archive[key], key
    except SampleFileError:
        raise
    except ValueError as error:
        raise SampleFileError(
            f"{path} could not be read as a .npz archive ({error}). Object arrays and pickles are rejected; "
            "save numeric arrays with np.savez."
        ) from error
    except (OSError, zipfile.BadZipFile) as error:
        raise SampleFileError(f"{path} is not a readable .npz archive ({error}).") from error


def _load_hdf5(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise SampleFileError(f"{path} is not a readable HDF5 file ({error}).") from error
    with handle:
        datasets = _hdf5_datasets(handle)
        if key is None:
            candidates = [name for name, shape in datasets.items() if _is_image_shape(shape)]
            if len(candidates) > 1:
                # Several image-shaped datasets: one called "images" (at the root or in a group) wins.
                named = [name for name in candidates if name.rsplit("/", 1)[-1] == "images"]
                candidates = named if len(named) == 1 else candidates
            if len(candidates) != 1:
                listing = {name: list(shape) for name, shape in datasets.items()}
                raise SampleFileError(
                    f"{path} contains {len(candidates)} datasets of shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}) "
                    f"among {listing}; pass key= with the dataset (or a group holding 'images')."
                )
            key = candidates[0]
        if key not in handle:
            raise SampleFileError(f"{path} has no dataset or group {key!r}; it contains {sorted(datasets)}.")
        item = handle[key]
        if isinstance(item, h5py.Group):
            if "images" not in item or not isinstance(item["images"], h5py.Dataset):
                raise SampleFileError(f"group {key!r} in {path} has no 'images' dataset; it contains {list(item)}.")
            item = item["images"]
        if item.dtype.kind not in "uif":
            raise SampleFileError(
                f"dataset {item.name!r} in {path} has dtype {item.dtype}; expected uint8 (or whole-number floats)."
            )
        return item[()], item.name.lstrip("/")


def _hdf5_datasets(handle: h5py.File) -> dict[str, tuple[int, ...]]:
    datasets: dict[str, tuple[int, ...]] = {}

    def visit(name: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            datasets[name] = tuple(item.shape)

    handle.visititems(visit)
    return datasets


def _is_image_shape(shape: tuple[int, ...]) -> bool:
    return len(shape) == 3 and shape[1:] == (IMAGE_SIZE, IMAGE_SIZE)
