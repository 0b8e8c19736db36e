"""Training and evaluation of the segmentation network on a split file's per-pixel labels.

Training minimises class-weighted pixel cross-entropy with AdamW and a cosine learning-rate
decay on random 64x64 training images, flipped and transposed at random (the eight
symmetries of the square). Class weights are (class pixel frequency)^(-class_weight_power),
normalised to mean 1, so rare classes (Michel electrons, delta rays) are not drowned by
background and track pixels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from lartpcbench.datasets.splits import SEMANTIC_CLASSES, read_split, read_split_attrs
from lartpcbench.datasets.fileio import write_bytes_atomic, write_text_atomic
from lartpcbench.models.checkpoint import META_FILE, STATE_FILE, save_checkpoint
from lartpcbench.models.config import require

from .segnet import ARCHITECTURE, DEFAULT_WEIGHTS, NUM_CLASSES, SegmentationNetwork, network_input

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SegnetTrainConfig:
    """Training budget and optimiser settings of the segmentation network."""

    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    class_weight_power: float = 0.75
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        require(self.steps >= 1, f"steps is {self.steps}; expected a positive number of optimiser steps.")
        require(self.batch_size >= 1, f"batch_size is {self.batch_size}; expected a positive integer.")
        require(self.learning_rate > 0, f"learning_rate is {self.learning_rate}; expected a positive number.")
        require(self.weight_decay >= 0, f"weight_decay is {self.weight_decay}; expected >= 0.")
        require(
            0 <= self.class_weight_power <= 1,
            f"class_weight_power is {self.class_weight_power}; expected 0 (no weighting) to 1 (inverse frequency).",
        )
        require(self.threads >= 1, f"threads is {self.threads}; expected a positive number of CPU threads.")


def train_segmentation_network(
    split_path: str | Path,
    out_path: str | Path = DEFAULT_WEIGHTS,
    *,
    steps: int = 2000,
    seed: int = 0,
    progress: bool = False,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
) -> dict:
    """Train the network on the ``train`` split of ``split_path`` and save it to ``out_path``.

    The split must carry ``semantic`` labels. Training runs on one CPU thread with fixed
    seeds, so the same split, steps and seed give the same weights on the same machine
    and torch build. After training, the network is scored on the ``test`` split when
    present and the scores go into the checkpoint metadata. Returns that metadata.
    """
    config = SegnetTrainConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    data = read_split(split_path, "train")
    if data.semantic is None:
        raise ValueError(
            f"the train split of {split_path} has no 'semantic' per-pixel labels; build it with the simulator "
            "(lartpcbench.datasets.catalog.build_dataset), which writes them."
        )
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        network, losses, wall_time = _fit(data.images, data.semantic, config, progress=progress)
    finally:
        torch.set_num_threads(previous_threads)

    attrs = read_split_attrs(split_path)
    metadata = {
        "architecture": ARCHITECTURE,
        "classes": list(SEMANTIC_CLASSES),
        "config": dataclasses.asdict(config),
        "dataset": attrs.get("dataset"),
        "dataset_version": attrs.get("version"),
        "dataset_source": attrs.get("source"),
        "train_images": len(data),
        "final_loss": float(np.mean(losses[-50:])),
        "wall_time_s": wall_time,
    }
    if "test" in attrs["sizes"]:
        metadata["test_scores"] = segmentation_scores(network, read_split(split_path, "test"))
    save_weights(out_path, network, metadata)
    logger.info("saved segmentation network to %s (final loss %.4f)", out_path, metadata["final_loss"])
    return metadata


def save_weights(folder: str | Path, network: nn.Module, metadata: dict) -> None:
    """Save the network in the checkpoint format that ``load_checkpoint`` reads.

    ``torch.save`` to a path names the zip archive inside the file after that path, and
    checkpoints are written under a random temporary name, so equal weights would get
    different bytes. Serialising to memory first fixes the archive name, so equal weights
    give an equal SHA-256.
    """
    buffer = io.BytesIO()
    torch.save({"model": network.state_dict()}, buffer)
    folder = Path(folder)
    # save_checkpoint writes the metadata and versions; the state file is then replaced
    # by the fixed-name serialisation and its hash recorded.
    save_checkpoint(folder, {"model": network.state_dict()}, metadata)
    write_bytes_atomic(folder / STATE_FILE, buffer.getvalue())
    record = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    record["state_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    write_text_atomic(folder / META_FILE, json.dumps(record, indent=2, sort_keys=True))


def _fit(images: np.ndarray, semantic: np.ndarray, config: SegnetTrainConfig, *, progress: bool):
    rng = np.random.default_rng(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        network = SegmentationNetwork()

    # Class weights (frequency)^(-power), normalised to mean 1.
    frequency = np.bincount(semantic.ravel(), minlength=NUM_CLASSES).astype(np.float64) + 1.0
    weights = frequency**-config.class_weight_power
    weights = torch.tensor(weights / weights.mean(), dtype=torch.float32)
    loss_function = nn.CrossEntropyLoss(weight=weights)

    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / config.steps)))
    network.train()
    losses = []
    start_time = time.perf_counter()
    for step in tqdm(range(config.steps), desc="segmentation network", disable=not progress):
        batch_images, batch_labels = _augmented_batch(images, semantic, config.batch_size, rng)
        optimizer.zero_grad()
        loss = loss_function(network(network_input(batch_images)), torch.from_numpy(batch_labels.astype(np.int64)))
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if (step + 1) % 200 == 0:
            logger.info("segmentation network step %d/%d: loss %.4f", step + 1, config.steps, np.mean(losses[-200:]))
    return network.eval(), losses, time.perf_counter() - start_time


def _augmented_batch(images: np.ndarray, semantic: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Draw a batch and apply one of the eight symmetries of the square to each image."""
    pick = rng.integers(0, len(images), batch_size)
    batch_images, batch_labels = images[pick].copy(), semantic[pick].copy()
    for index, symmetry in enumerate(rng.integers(0, 8, batch_size)):
        image, label = batch_images[index], batch_labels[index]
        if symmetry & 1:
            image, label = image[::-1], label[::-1]
        if symmetry & 2:
            image, label = image[:, ::-1], label[:, ::-1]
        if symmetry & 4:
            image, label = image.T, label.T
        batch_images[index], batch_labels[index] = image, label
    return batch_images, batch_labels


def segmentation_scores(network: nn.Module, data, *, batch_size: int = 256) -> dict:
    """Score a network on a split with ``semantic`` labels: per-class pixel accuracy and confusion.

    ``per_class_accuracy`` is, per true class, the share of its pixels predicted as that
    class (recall). ``lit_pixel_accuracy`` counts only non-zero pixels. ``confusion`` is
    the 6x6 matrix of pixel counts, rows true class, columns predicted class.
    """
    if data.semantic is None:
        raise ValueError("the split has no 'semantic' per-pixel labels to score the network against.")
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    lit_correct = lit_total = 0
    network.eval()
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            images = data.images[start : start + batch_size]
            truth = data.semantic[start : start + batch_size].astype(np.int64)
            predicted = network(network_input(images)).argmax(dim=1).numpy()
            confusion += np.bincount((truth * NUM_CLASSES + predicted).ravel(), minlength=NUM_CLASSES**2).reshape(
                NUM_CLASSES, NUM_CLASSES
            )
            lit = images > 0
            lit_correct += int(((predicted == truth) & lit).sum())
            lit_total += int(lit.sum())
    totals = confusion.sum(axis=1)
    per_class = {
        name: (float(confusion[index, index] / totals[index]) if totals[index] else None)
        for index, name in enumerate(SEMANTIC_CLASSES)
    }
    return {
        "split_images": len(data),
        "per_class_accuracy": per_class,
        "lit_pixel_accuracy": lit_correct / lit_total if lit_total else None,
        "confusion": confusion.tolist(),
    }


def evaluate_segmentation_network(
    split_path: str | Path, *, split: str = "test", weights: str | Path = DEFAULT_WEIGHTS
) -> dict:
    """Score the trained network (default: the shipped weights) on one split of a split file."""
    from .segnet import load_segmentation_network

    network, sha256, _ = load_segmentation_network(weights)
    scores = segmentation_scores(network, read_split(split_path, split))
    scores["weights_sha256"] = sha256
    scores["split"] = split
    return scores


def build_training_split(
    path: str | Path,
    *,
    dataset: str = "sim64-v1",
    train_images: int = 6000,
    test_images: int = 1000,
    workers: int | None = 1,
    progress: bool = False,
) -> Path:
    """Simulate a split file for training the network, with the catalog's config and seed of ``dataset``.

    The train and test parts use the random streams of that dataset's train and test
    splits, so they hold the same kind of events as the benchmark splits without
    simulating all of them. Returns ``path``.
    """
    from lartpcbench.datasets.catalog import get_dataset_spec
    from lartpcbench.datasets.sim import simulate_images
    from lartpcbench.datasets.splits import write_split_file

    spec = get_dataset_spec(dataset)
    streams = {"train": 0, "test": 2}
    sizes = {"train": train_images, "test": test_images}
    splits = {
        split: simulate_images(sizes[split], seed=spec.seed, config=spec.sim_config, workers=workers, stream=stream, progress=progress)
        for split, stream in streams.items()
    }
    write_split_file(
        path,
        splits,
        dataset=f"{spec.name}-segnet-train",
        version=spec.version,
        source=spec.source,
        generator_params=spec.sim_config.to_dict(),
        seed=spec.seed,
    )
    return Path(path)
