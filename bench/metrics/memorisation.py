"""Memorisation: nearest-training-image distances of generated images against held-out real ones.

Distances are Euclidean in raw pixel space (0-255 scale). The search is exact: a float32
matrix product ranks every training image, and the best ``CANDIDATES`` are re-scored with
exact integer arithmetic, so float32 rounding can only reorder near-ties. The cost is
O(queries x training images x 4096), so at most ``MAX_QUERIES`` images per side are
queried, drawn with a fixed seed.

nn_train_ratio = median NN distance of generated images / median NN distance of held-out
real images. Near 1: samples are as far from the training set as unseen real images; well
below 1: samples sit on top of training images.
near_copy_fraction = share of generated images whose NN distance is below
NEAR_COPY_FACTOR x the held-out median NN distance.
"""

from __future__ import annotations

import numpy as np
import torch

MAX_QUERIES = 2000
NEAR_COPY_FACTOR = 0.25
CANDIDATES = 4
QUERY_BLOCK = 512


def nearest_train_distances(queries: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Return each query image's Euclidean distance to its nearest training image, (Q,) float64."""
    query_flat = np.asarray(queries).reshape(len(queries), -1)
    train_flat = np.asarray(train).reshape(len(train), -1)
    train_tensor = torch.from_numpy(train_flat.astype(np.float32))
    train_norms = (train_tensor * train_tensor).sum(dim=1)
    candidates = min(CANDIDATES, len(train_flat))
    distances = np.empty(len(query_flat))
    for start in range(0, len(query_flat), QUERY_BLOCK):
        block = query_flat[start : start + QUERY_BLOCK]

        # Rank by |q|^2 + |t|^2 - 2 q.t in float32; |q|^2 is constant per row and omitted.
        block_tensor = torch.from_numpy(block.astype(np.float32))
        scores = train_norms[None, :] - 2.0 * block_tensor @ train_tensor.T
        best = torch.topk(scores, candidates, dim=1, largest=False).indices.numpy()

        # Exact integer squared distances for the candidates.
        difference = block.astype(np.int64)[:, None, :] - train_flat[best].astype(np.int64)
        exact = (difference * difference).sum(axis=2)
        distances[start : start + len(block)] = np.sqrt(exact.min(axis=1).astype(np.float64))
    return distances


def memorisation_scores(generated_distances: np.ndarray, heldout_distances: np.ndarray) -> dict[str, float]:
    """Return nn_train_ratio, near_copy_fraction, the threshold and the held-out floor."""
    heldout_median = float(np.median(heldout_distances))
    threshold = NEAR_COPY_FACTOR * heldout_median
    ratio = float(np.median(generated_distances)) / heldout_median if heldout_median > 0 else float("nan")
    return {
        "nn_train_ratio": ratio,
        "near_copy_fraction": float(np.mean(generated_distances < threshold)),
        "threshold": threshold,
        "heldout_near_copy_fraction": float(np.mean(heldout_distances < threshold)),
    }
