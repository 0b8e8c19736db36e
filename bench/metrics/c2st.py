"""Classifier two-sample test: a small CNN learns to tell generated from real images.

Both classes are cut to the same size n (at most ``MAX_PER_CLASS``) and split with a fixed
seed into 60% training, 20% calibration and 20% test images per class. The CNN trains for
``EPOCHS`` epochs on log-scaled pixels; isotonic regression fitted on the calibration part
maps its scores to probabilities. The reported AUC is on the test part (0.5: the two sets
cannot be distinguished; 1: perfectly separable) with a 68% bootstrap interval over test
images. Calibration only changes the probabilities, whose Brier score and expected
calibration error are reported alongside.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression
from torch import nn

from .distributions import percentile_interval

MAX_PER_CLASS = 3000
EPOCHS = 3
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
N_BOOTSTRAP = 200
ECE_BINS = 10


def build_classifier() -> nn.Module:
    """Return the classifier CNN: a 4x4 patch embedding, two convolutions, pooling, one logit."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 4, stride=4),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=1, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 1),
    )


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Return the ROC AUC by the Mann-Whitney rank formula, ties counted one half."""
    labels = np.asarray(labels, bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def classifier_two_sample_test(
    generated: np.ndarray,
    reference: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = EPOCHS,
    max_per_class: int = MAX_PER_CLASS,
) -> dict:
    """Train the classifier on (N, 64, 64) uint8 generated vs reference images; return its scores.

    Returns ``auc`` with ``ci_low``/``ci_high``, ``brier`` and ``ece`` of the calibrated
    probabilities, ``ece_uncalibrated``, ``accuracy`` at probability 0.5 and ``n_per_class``.
    """
    rng = np.random.default_rng(seed)
    per_class = min(len(generated), len(reference), max_per_class)
    parts = _split_indices(per_class, rng)
    picks = (rng.choice(len(generated), per_class, replace=False), rng.choice(len(reference), per_class, replace=False))

    def gather(part: int) -> tuple[torch.Tensor, np.ndarray]:
        images = np.concatenate([generated[picks[0][parts[part]]], reference[picks[1][parts[part]]]])
        labels = np.concatenate([np.ones(len(parts[part])), np.zeros(len(parts[part]))])
        return _to_input(images), labels

    (train_x, train_y), (calib_x, calib_y), (test_x, test_y) = gather(0), gather(1), gather(2)
    torch_generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    model = _train(train_x, train_y, epochs=epochs, generator=torch_generator)

    # Scores, isotonic calibration on the calibration part, AUC on the test part.
    calib_scores, test_scores = _scores(model, calib_x), _scores(model, test_x)
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(calib_scores, calib_y)
    probabilities = calibrator.predict(test_scores)
    raw_probabilities = 1.0 / (1.0 + np.exp(-test_scores))
    auc = roc_auc(test_y, test_scores)
    replicates = []
    for _ in range(N_BOOTSTRAP):
        pick = rng.integers(0, len(test_y), len(test_y))
        replicates.append(roc_auc(test_y[pick], test_scores[pick]))
    low, high = percentile_interval(np.array(replicates))
    return {
        "auc": auc,
        "ci_low": low,
        "ci_high": high,
        "brier": float(np.mean((probabilities - test_y) ** 2)),
        "ece": expected_calibration_error(test_y, probabilities),
        "ece_uncalibrated": expected_calibration_error(test_y, raw_probabilities),
        "accuracy": float(np.mean((probabilities > 0.5) == test_y.astype(bool))),
        "n_per_class": int(per_class),
        "n_test_per_class": int(len(parts[2])),
    }


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """Return the expected calibration error over equal-width probability bins."""
    bin_index = np.clip((probabilities * bins).astype(int), 0, bins - 1)
    error = 0.0
    for index in range(bins):
        members = bin_index == index
        if members.any():
            error += members.mean() * abs(probabilities[members].mean() - labels[members].mean())
    return float(error)


def _split_indices(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(count)
    train_end = int(round(SPLIT_FRACTIONS[0] * count))
    calib_end = train_end + int(round(SPLIT_FRACTIONS[1] * count))
    return [order[:train_end], order[train_end:calib_end], order[calib_end:]]


def _to_input(images: np.ndarray) -> torch.Tensor:
    """Map 0-255 pixels to log1p(x) / log(256) in [0, 1], shape (N, 1, 64, 64)."""
    scaled = (np.log1p(images.astype(np.float32)) / np.float32(np.log(256.0))).astype(np.float32)
    return torch.from_numpy(scaled[:, None])


def _train(inputs: torch.Tensor, labels: np.ndarray, *, epochs: int, generator: torch.Generator) -> nn.Module:
    # Seed the weight initialisation without touching the caller's global torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        model = build_classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    targets = torch.from_numpy(labels.astype(np.float32))
    loss_function = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_function(model(inputs[batch]).squeeze(1), targets[batch])
            loss.backward()
            optimizer.step()
    return model.eval()


def _scores(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.cat([model(inputs[start : start + 1024]).squeeze(1) for start in range(0, len(inputs), 1024)]).double().numpy()
