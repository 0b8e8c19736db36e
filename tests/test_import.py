import h5py
import numpy as np
import pytest

from lartpcbench.datasets.arrayfile import ArrayFileError, read_array
from lartpcbench.datasets.images import ImageFormatError
from lartpcbench.datasets.importer import read_inputs, split_imported

from conftest import draw_line_images


def test_import_reference_file_layout(tmp_path):
    for stem, seed in (("larcv_png_64_train_tracks", 0), ("larcv_png_64_train_showers", 1), ("larcv_png_64_test_tracks", 2)):
        np.save(tmp_path / f"{stem}.npy", draw_line_images(20, seed=seed))
    paths = sorted(tmp_path.glob("*.npy"))
    inputs = read_inputs(paths)
    labels = {item.path.stem: item.label for item in inputs}
    assert labels == {"larcv_png_64_test_tracks": 0, "larcv_png_64_train_showers": 1, "larcv_png_64_train_tracks": 0}
    splits = split_imported(inputs, val_fraction=0.25, seed=0)
    assert len(splits["test"]) == 20
    assert len(splits["val"]) == 10
    assert len(splits["train"]) == 30
    assert (splits["test"].labels == 0).all()
    assert sorted(np.bincount(splits["train"].labels.astype(int) + 0, minlength=2).tolist()) != [0, 0]


def test_import_pools_and_splits_without_test_files(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, images=draw_line_images(50, seed=0).astype(np.float32))
    inputs = read_inputs([path], label="unknown")
    splits = split_imported(inputs, val_fraction=0.1, test_fraction=0.2, seed=1)
    assert [len(splits[name]) for name in ("train", "val", "test")] == [35, 5, 10]
    assert (splits["train"].labels == -1).all()


def test_read_array_formats(tmp_path):
    images = draw_line_images(3, seed=0)
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle.create_dataset("group/images", data=images)
    np.testing.assert_array_equal(read_array(tmp_path / "a.h5"), images)
    np.savez(tmp_path / "b.npz", first=images, second=images)
    with pytest.raises(ArrayFileError, match="contains 2 arrays"):
        read_array(tmp_path / "b.npz")
    np.testing.assert_array_equal(read_array(tmp_path / "b.npz", key="second"), images)
    with pytest.raises(ArrayFileError, match="no array 'third'"):
        read_array(tmp_path / "b.npz", key="third")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_array(tmp_path / "absent.npy")
    (tmp_path / "c.txt").write_text("1 2 3")
    with pytest.raises(ArrayFileError, match="suffix"):
        read_array(tmp_path / "c.txt")


def test_read_array_rejects_pickles(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ArrayFileError, match="pickled"):
        read_array(tmp_path / "objects.npy")


def test_import_rejects_bad_arrays(tmp_path):
    np.save(tmp_path / "wrong_shape.npy", np.zeros((5, 32, 32), np.uint8))
    with pytest.raises(ImageFormatError, match="wrong_shape.npy has shape"):
        read_inputs([tmp_path / "wrong_shape.npy"])
    np.save(tmp_path / "nan.npy", np.full((5, 64, 64), np.nan))
    with pytest.raises(ImageFormatError, match="NaN"):
        read_inputs([tmp_path / "nan.npy"])
    np.save(tmp_path / "range.npy", np.full((5, 64, 64), 1000, np.int32))
    with pytest.raises(ImageFormatError, match="0-255"):
        read_inputs([tmp_path / "range.npy"])
    with pytest.raises(ValueError, match="cannot fill"):
        split_imported(read_inputs([_save(tmp_path, 3)]), val_fraction=0.1, test_fraction=0.1)


def _save(tmp_path, count):
    path = tmp_path / "few.npy"
    np.save(path, draw_line_images(count, seed=0))
    return path
