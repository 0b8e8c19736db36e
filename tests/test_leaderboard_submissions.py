"""Sample-file submissions: each supported format loads, and each bad input fails clearly."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from lartpcbench.datasets.images import ImageFormatError
from lartpcbench.leaderboard import SampleFileError, load_sample_file

from test_leaderboard_records import sparse_images


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_and_check_untouched(path, **kwargs):
    """Call load_sample_file and return the exception it raises, checking the file is unchanged."""
    before = digest(path)
    with pytest.raises((ValueError, FileNotFoundError)) as caught:
        load_sample_file(path, **kwargs)
    assert digest(path) == before
    return caught.value


@pytest.fixture()
def images():
    return sparse_images(5, seed=7)


def test_npy_loads(tmp_path, images):
    path = tmp_path / "samples.npy"
    np.save(path, images)
    loaded = load_sample_file(path)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, images)


def test_npy_whole_number_floats_accepted(tmp_path, images):
    path = tmp_path / "samples.npy"
    np.save(path, images.astype(np.float32))
    np.testing.assert_array_equal(load_sample_file(path), images)


def test_npz_single_and_keyed(tmp_path, images):
    single = tmp_path / "single.npz"
    np.savez(single, samples=images)
    np.testing.assert_array_equal(load_sample_file(single), images)
    several = tmp_path / "several.npz"
    np.savez_compressed(several, a=images, b=images[:2])
    np.testing.assert_array_equal(load_sample_file(several, key="b"), images[:2])
    error = load_and_check_untouched(several)
    assert "contains 2 arrays ['a', 'b']" in str(error)
    assert "key=" in str(error)
    error = load_and_check_untouched(several, key="c")
    assert "no array 'c'" in str(error)


def test_hdf5_single_dataset_and_key(tmp_path, images):
    path = tmp_path / "samples.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("generated", data=images)
        handle.create_dataset("labels", data=np.zeros(5, dtype=np.int8))
    np.testing.assert_array_equal(load_sample_file(path), images)
    np.testing.assert_array_equal(load_sample_file(path, key="generated"), images)
    error = load_and_check_untouched(path, key="missing")
    assert "no dataset or group 'missing'" in str(error)


def test_hdf5_group_images(tmp_path, images):
    path = tmp_path / "samples.hdf5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("run/images", data=images)
        handle.create_dataset("run/semantic", data=np.zeros_like(images))
    # Two (N, 64, 64) datasets, but only one is called "images".
    np.testing.assert_array_equal(load_sample_file(path), images)
    np.testing.assert_array_equal(load_sample_file(path, key="run"), images[:5])


def test_hdf5_ambiguous_needs_key(tmp_path, images):
    path = tmp_path / "split.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("val/images", data=images)
        handle.create_dataset("test/images", data=images[:3])
    error = load_and_check_untouched(path)
    assert "contains 2 datasets" in str(error)
    assert "pass key=" in str(error)
    np.testing.assert_array_equal(load_sample_file(path, key="test"), images[:3])


def test_missing_file_names_path(tmp_path):
    path = tmp_path / "absent.npy"
    with pytest.raises(FileNotFoundError, match="absent.npy"):
        load_sample_file(path)


def test_bad_arrays_rejected(tmp_path, images):
    nan_images = images.astype(np.float32)
    nan_images[0, 3, 4] = np.nan
    cases = {
        "wrong shape": (images[:, :32, :32], "shape (5, 32, 32)"),
        "wrong dtype": (images.astype(np.complex64), "dtype complex64"),
        "above 255": (images.astype(np.int16) + 300, "values from 300"),
        "negative": (images.astype(np.int16) - 1, "values from -1"),
        "NaN": (nan_images, "1 NaN"),
        "fractional": (images.astype(np.float32) + 0.5, "non-integer"),
    }
    for label, (array, expected) in cases.items():
        path = tmp_path / f"{label.replace(' ', '_')}.npy"
        np.save(path, array)
        error = load_and_check_untouched(path)
        assert isinstance(error, ImageFormatError), label
        assert expected in str(error), f"{label}: {error}"
        assert str(path) in str(error), label


def test_too_few_images(tmp_path, images):
    path = tmp_path / "few.npy"
    np.save(path, images)
    error = load_and_check_untouched(path, min_images=10)
    assert isinstance(error, SampleFileError)
    assert "contain 5 images; expected at least 10" in str(error)
    assert load_sample_file(path, min_images=5).shape == (5, 64, 64)


def test_pickled_objects_rejected(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    error = load_and_check_untouched(path)
    assert isinstance(error, SampleFileError)
    assert "pickles are rejected" in str(error)


def test_unreadable_and_unsupported_files(tmp_path, images):
    cases = {
        "garbage.npy": "not a readable .npy file",
        "garbage.npz": "not a readable .npz archive",
        "garbage.h5": "not a readable HDF5 file",
        "samples.pt": "expected one of ['.npy', '.npz', '.h5', '.hdf5']",
    }
    for name, expected in cases.items():
        path = tmp_path / name
        path.write_bytes(b"this is not an array file")
        error = load_and_check_untouched(path)
        assert isinstance(error, SampleFileError), name
        assert expected in str(error), f"{name}: {error}"


def test_key_with_npy_rejected(tmp_path, images):
    path = tmp_path / "samples.npy"
    np.save(path, images)
    error = load_and_check_untouched(path, key="images")
    assert "drop key" in str(error)
