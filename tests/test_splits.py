import h5py
import numpy as np
import pytest

from lartpcbench.datasets.images import ImageFormatError, postprocess, validate_images
from lartpcbench.datasets.splits import SplitData, SplitFileError, read_split, read_split_attrs, write_split_file

from conftest import draw_line_images


def make_splits():
    truth = np.zeros(4, dtype=[("num_particles", "i4"), ("energy_mev", "f4")])
    truth["energy_mev"] = [1, 2, 3, 4]
    train = SplitData(draw_line_images(4, seed=0), np.array([0, 1, 0, -1]), np.ones((4, 64, 64), np.uint8), truth)
    return {"train": train, "val": SplitData(draw_line_images(2, seed=1), [0, 0]), "test": SplitData(draw_line_images(3, seed=2), [1, 1, 0])}


def test_split_file_round_trip(tmp_path):
    splits = make_splits()
    path = tmp_path / "data.h5"
    checksums = write_split_file(path, splits, dataset="toy", version="3", source="unit test", generator_params={"a": 1}, seed=7)
    assert set(checksums) == {"train/images", "train/labels", "train/semantic", "train/truth", "val/images", "val/labels", "test/images", "test/labels"}
    train = read_split(path, "train")
    np.testing.assert_array_equal(train.images, splits["train"].images)
    np.testing.assert_array_equal(train.labels, [0, 1, 0, -1])
    assert train.labels.dtype == np.int8
    np.testing.assert_array_equal(train.truth["energy_mev"], [1, 2, 3, 4])
    assert read_split(path, "val").semantic is None
    attrs = read_split_attrs(path)
    assert attrs["dataset"] == "toy"
    assert attrs["version"] == "3"
    assert attrs["generator_params"] == {"a": 1}
    assert attrs["seed"] == 7
    assert attrs["sizes"] == {"train": 4, "val": 2, "test": 3}


def test_split_file_detects_modified_array(tmp_path):
    path = tmp_path / "data.h5"
    write_split_file(path, make_splits(), dataset="toy", version="1", source="unit test")
    with h5py.File(path, "r+") as handle:
        handle["test/images"][0, 0, 0] = 77
    with pytest.raises(SplitFileError, match="checksum mismatch for test/images"):
        read_split(path, "test")
    read_split(path, "train")  # untouched splits still load


def test_split_file_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "data.h5"
    write_split_file(path, make_splits(), dataset="toy", version="1", source="unit test")
    before = path.read_bytes()
    with pytest.raises(SplitFileError, match="unknown split names"):
        write_split_file(path, {"training": make_splits()["train"]}, dataset="toy", version="2", source="unit test")
    with pytest.raises(TypeError):
        write_split_file(path, make_splits(), dataset="toy", version="2", source="x", generator_params={"bad": object()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.h5"]


def test_read_split_missing_file_and_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="lartpc-bench data build"):
        read_split(tmp_path / "absent.h5", "train")
    path = tmp_path / "data.h5"
    write_split_file(path, {"train": make_splits()["train"]}, dataset="toy", version="1", source="unit test")
    with pytest.raises(SplitFileError, match="no 'test' split"):
        read_split(path, "test")
    with pytest.raises(SplitFileError, match="unknown split"):
        read_split(path, "training")


def test_split_data_rejects_bad_labels():
    images = draw_line_images(2, seed=0)
    with pytest.raises(SplitFileError, match="labels have shape"):
        SplitData(images, [0])
    with pytest.raises(SplitFileError, match="labels must be"):
        SplitData(images, [0, 5])
    with pytest.raises(SplitFileError, match="semantic has shape"):
        SplitData(images, [0, 1], semantic=np.zeros((2, 32, 32)))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((3, 32, 32), np.uint8), r"shape \(3, 32, 32\)"),
        (np.zeros((64, 64), np.uint8), "shape"),
        (np.zeros((0, 64, 64), np.uint8), "no images"),
        (np.full((1, 64, 64), 300, np.int32), "from 300 to 300"),
        (np.full((1, 64, 64), -1.0), "expected 0-255"),
        (np.full((1, 64, 64), np.nan, np.float32), "NaN"),
        (np.zeros((1, 64, 64), np.complex64), "dtype complex64"),
    ],
)
def test_validate_images_rejects(array, message):
    with pytest.raises(ImageFormatError, match=message):
        validate_images(array, name="samples", allow_float=True)


def test_validate_images_float_handling():
    floats = np.full((2, 64, 64), 12.0, np.float32)
    with pytest.raises(ImageFormatError, match="expected uint8"):
        validate_images(floats)
    assert validate_images(floats, allow_float=True).dtype == np.uint8
    with pytest.raises(ImageFormatError, match="non-integer"):
        validate_images(floats + 0.5, allow_float=True)


def test_postprocess_rounds_clips_and_thresholds():
    raw = np.zeros((1, 64, 64), np.float32)
    raw[0, 0, :6] = [-5.0, 3.6, 4.4, 4.6, 254.7, 400.0]
    images = postprocess(raw, noise_threshold=4)
    np.testing.assert_array_equal(images[0, 0, :6], [0, 0, 0, 5, 255, 255])
    assert images.dtype == np.uint8
    with pytest.raises(ImageFormatError, match="NaN"):
        postprocess(np.full((1, 64, 64), np.nan))
