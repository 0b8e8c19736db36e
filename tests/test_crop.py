import numpy as np
import pytest

from lartpcbench.datasets.crop import CropConfig, crop_plane, crop_planes
from lartpcbench.models.config import ConfigError

from conftest import shared_data_file


def plane_with_clusters():
    plane = np.zeros((200, 300), np.float32)
    plane[50, 40:90] = 100.0  # 50-pixel horizontal track, centroid (50, 64.5)
    plane[150:195, 250] = 200.0  # 45-pixel vertical track near the bottom edge
    plane[10, 10] = 30.0  # single noise pixel: too small to seed a crop
    return plane


def test_crop_centres_window_on_cluster_centroid():
    crops = crop_plane(plane_with_clusters(), CropConfig())
    assert crops.images.shape == (2, 64, 64)
    top, left = crops.corners[0]
    assert (top, left) == (50 - 32, 64 - 32)  # rint(64.5) = 64 (round half to even)
    assert np.count_nonzero(crops.images[0]) == 50
    # The second window is shifted inside the plane: centred on row 172 it would cross the bottom edge.
    top, left = crops.corners[1]
    assert left == 250 - 32
    assert top == 200 - 64


def test_crop_keeps_window_only_with_one_percent_lit():
    plane = np.zeros((128, 128), np.float32)
    plane[60, 50:90] = 50.0  # 40 lit pixels < 1 % of 4096 = 40.96
    assert len(crop_plane(plane, CropConfig()).images) == 0
    plane[61, 50] = 50.0  # 41 lit pixels: kept
    assert len(crop_plane(plane, CropConfig()).images) == 1


def test_crop_skips_cluster_inside_kept_window():
    plane = np.zeros((128, 128), np.float32)
    plane[60, 30:90] = 50.0
    plane[70, 55:90] = 80.0  # separate cluster whose centroid lies in the first window
    crops = crop_plane(plane, CropConfig())
    assert len(crops.images) == 1


def test_crop_lit_threshold_zeroes_pixels_below_it():
    plane = np.zeros((128, 128), np.float32)
    plane[60, 30:90] = 50.0
    plane[20:40, 20:40] = 2.0
    crops = crop_plane(plane, CropConfig(lit_threshold=5.0))
    assert len(crops.images) == 1
    assert crops.images[0].min() == 0
    assert set(np.unique(crops.images[0])) == {0.0, 50.0}


def test_crop_planes_assigns_planes_to_splits():
    planes = np.stack([plane_with_clusters()] * 10)
    splits = crop_planes(planes, CropConfig(), fractions=(0.6, 0.2, 0.2), seed=3, progress=False)
    assert {name: len(split) for name, split in splits.items()} == {"train": 12, "val": 4, "test": 4}
    assert all((split.labels == -1).all() for split in splits.values())
    assert splits["train"].images.dtype == np.uint8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"crop_size": 32}, "crop_size"), ({"min_lit_fraction": 0.0}, "min_lit_fraction"),
     ({"min_cluster_pixels": 0}, "min_cluster_pixels"), ({"lit_threshold": -1.0}, "lit_threshold")],
)
def test_crop_config_rejects(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        CropConfig(**kwargs)


def test_crop_planes_rejects_bad_planes():
    with pytest.raises(ValueError, match="0-255"):
        crop_planes(np.full((3, 100, 100), 300.0), CropConfig(), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        crop_planes(np.full((3, 100, 100), np.nan), CropConfig(), progress=False)
    with pytest.raises(ValueError, match="at least 3"):
        crop_planes(np.zeros((2, 100, 100)), CropConfig(), progress=False)


def test_crop_microboone_planes_yields_enough_crops():
    planes = np.load(shared_data_file("microboone_ext_planes.npz"))["arr_0"]
    splits = crop_planes(planes, CropConfig(), progress=False)
    total = sum(len(split) for split in splits.values())
    assert total >= 1500
    for split in splits.values():
        lit = (split.images > 0).reshape(len(split), -1).mean(axis=1)
        assert lit.min() >= 0.01
