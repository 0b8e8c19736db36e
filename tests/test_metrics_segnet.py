"""The segmentation network: shipped weights, hash checks, inference outputs and training."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
import torch

from lartpcbench.bench.metrics import segnet
from lartpcbench.bench.metrics.segnet_training import evaluate_segmentation_network, train_segmentation_network
from lartpcbench.bench.perf.metrics import drawn_images
from lartpcbench.datasets.splits import SplitData, write_split_file
from lartpcbench.models.checkpoint import CheckpointError, load_checkpoint


def test_shipped_weights_small_and_hashed():
    state_file = segnet.DEFAULT_WEIGHTS / "state.pt"
    assert state_file.stat().st_size < 2 * 1024 * 1024
    expected = hashlib.sha256(state_file.read_bytes()).hexdigest()
    assert segnet.weights_sha256() == expected
    _, _, metadata = segnet.load_segmentation_network()
    assert metadata["architecture"] == segnet.ARCHITECTURE
    accuracy = metadata["test_scores"]["per_class_accuracy"]
    assert set(accuracy) == {"background", "shower", "track", "michel", "delta", "low_energy"}


def test_fused_network_matches_training_form():
    network, _, _ = segnet.load_segmentation_network()
    state, _ = load_checkpoint(segnet.DEFAULT_WEIGHTS)
    plain = segnet.SegmentationNetwork()
    plain.load_state_dict(state["model"])
    plain.eval()
    inputs = segnet.network_input(drawn_images(8, seed=4))
    with torch.inference_mode():
        expected_logits, expected_features = plain(inputs, return_features=True)
        logits, features = network(inputs.to(memory_format=torch.channels_last), return_features=True)
    torch.testing.assert_close(logits, expected_logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(features, expected_features, atol=1e-4, rtol=1e-4)


def test_segment_images_outputs_and_batch_independence():
    images = drawn_images(20, seed=5)
    images[3] = 0
    features, fractions = segnet.segment_images(images, batch_size=7)
    features_again, fractions_again = segnet.segment_images(images, batch_size=20)
    assert features.shape == (20, segnet.FEATURE_DIM)
    assert fractions.shape == (20, segnet.NUM_CLASSES)
    np.testing.assert_allclose(features, features_again, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(fractions[3]), True)
    lit_rows = np.delete(fractions, 3, axis=0)
    np.testing.assert_allclose(lit_rows.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fractions, fractions_again)


def test_damaged_weights_rejected(tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(segnet.DEFAULT_WEIGHTS, folder)
    data = bytearray((folder / "state.pt").read_bytes())
    data[-10] ^= 0xFF
    (folder / "state.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        segnet.load_segmentation_network(folder)
    with pytest.raises(CheckpointError, match="train them"):
        segnet.load_segmentation_network(tmp_path / "missing")


def tiny_split(count: int, seed: int) -> SplitData:
    images = drawn_images(count, seed=seed)
    semantic = np.where(images > 0, 2, 0).astype(np.uint8)
    semantic[images > 90] = 3
    return SplitData(images=images, labels=np.zeros(count, np.int8), semantic=semantic)


def test_training_writes_loadable_scored_weights(tmp_path):
    split_path = tmp_path / "split.h5"
    write_split_file(split_path, {"train": tiny_split(24, 0), "test": tiny_split(8, 1)}, dataset="tiny", version="1", source="test")
    out = tmp_path / "segnet"
    metadata = train_segmentation_network(split_path, out, steps=3, seed=0, batch_size=4)
    assert metadata["config"]["steps"] == 3
    assert metadata["dataset"] == "tiny"
    assert metadata["test_scores"]["split_images"] == 8
    again = train_segmentation_network(split_path, tmp_path / "again", steps=3, seed=0, batch_size=4)
    # Same split, steps and seed: the same weights.
    assert (out / "state.pt").read_bytes() == (tmp_path / "again" / "state.pt").read_bytes()
    scores = evaluate_segmentation_network(split_path, weights=out)
    assert scores["per_class_accuracy"]["shower"] is None  # no shower pixels in this split
    assert 0.0 <= scores["per_class_accuracy"]["track"] <= 1.0
    assert np.array(scores["confusion"]).sum() == 8 * 64 * 64
    assert again["test_scores"] == metadata["test_scores"]


def test_training_requires_semantic_labels(tmp_path):
    split_path = tmp_path / "split.h5"
    images = drawn_images(4, seed=0)
    write_split_file(split_path, {"train": SplitData(images=images, labels=np.zeros(4, np.int8))}, dataset="x", version="1", source="test")
    with pytest.raises(ValueError, match="semantic"):
        train_segmentation_network(split_path, tmp_path / "out", steps=1)
