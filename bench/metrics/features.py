"""The built-in feature extractors and ``ImageSet``, which computes and memoises them per image set.

Extractors: ``pixels`` (the 4096 raw pixel values), ``physics`` (the 12-number physics
feature vector below) and ``segnet`` (the segmentation network's 64 pooled activations).
"""

from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from . import observables as obs
from . import segnet
from .cache import FeatureCache
from .registry import FeatureExtractor, get_extractor, register_extractor

OBSERVABLES_VERSION = "1"
PIXELS_VERSION = "1"

# Columns of the physics feature vector, in order.
PHYSICS_FEATURE_NAMES = (
    "lit_pixels",
    "charge",
    "n_clusters",
    "track_length",
    "track_width",
    "direction_cos2",
    "direction_sin2",
    "dedx_mean",
    "bragg_ratio",
    "mean_lit_intensity",
    "track_fraction",
    "shower_fraction",
)

SHOWER_CLASS, TRACK_CLASS = 1, 2


def observables_sha256() -> str:
    """Return the SHA-256 of the observable definitions (version and every fixed parameter)."""
    definition = (
        f"observables v{OBSERVABLES_VERSION}; dbscan eps={obs.DBSCAN_EPS_PIXELS} min_samples={obs.DBSCAN_MIN_SAMPLES}; "
        f"bragg end={obs.BRAGG_END_SLICES} min={obs.BRAGG_MIN_SLICES}; profile={obs.PROFILE_LENGTH}"
    )
    return hashlib.sha256(definition.encode()).hexdigest()


def pixels_sha256() -> str:
    """Return the SHA-256 of the raw-pixel extractor's definition."""
    return hashlib.sha256(f"pixels v{PIXELS_VERSION}: uint8 (N, 64, 64) -> float64 (N, 4096)".encode()).hexdigest()


def physics_sha256() -> str:
    """Return the SHA-256 of the physics feature vector: observables, columns and network weights."""
    definition = f"{observables_sha256()} {','.join(PHYSICS_FEATURE_NAMES)} {segnet.weights_sha256()}"
    return hashlib.sha256(definition.encode()).hexdigest()


def physics_feature_vector(observables: obs.Observables, fractions: np.ndarray) -> np.ndarray:
    """Assemble the (N, 12) physics features; undefined values get neutral fills.

    Direction enters as cos(2 theta), sin(2 theta) because the axis has no sign. Images
    without a cluster get direction (0, 0) and dE/dx 0. Tracks too short for a Bragg ratio
    get 1 (no peak), and empty images get class fractions 0.
    """
    scalars = observables.scalars
    theta = np.radians(scalars["direction"])
    counts = observables.intensity_counts
    lit = counts[:, 1:].sum(axis=1)
    charge = counts[:, 1:] @ np.arange(1, 256, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_intensity = np.where(lit > 0, charge / np.maximum(lit, 1), 0.0)
    columns = [
        scalars["lit_pixels"],
        scalars["charge"],
        scalars["n_clusters"],
        scalars["track_length"],
        scalars["track_width"],
        np.nan_to_num(np.cos(2 * theta), nan=0.0),
        np.nan_to_num(np.sin(2 * theta), nan=0.0),
        np.nan_to_num(scalars["dedx_mean"], nan=0.0),
        np.nan_to_num(scalars["bragg_ratio"], nan=1.0),
        mean_intensity,
        np.nan_to_num(fractions[:, TRACK_CLASS], nan=0.0),
        np.nan_to_num(fractions[:, SHOWER_CLASS], nan=0.0),
    ]
    return np.column_stack(columns).astype(np.float64)


class ImageSet:
    """One image set and its lazily computed, memoised products.

    With a ``cache``, the observables and network outputs are read from and written to disk
    (for the reference side of ``evaluate``).
    """

    def __init__(self, images: np.ndarray, *, cache: FeatureCache | None = None, progress: bool = False) -> None:
        self.images = images
        self.cache = cache
        self.progress = progress
        self._memo: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.images)

    @property
    def observables(self) -> obs.Observables:
        """Per-image physics observables (see ``observables.compute_observables``)."""
        arrays = self._product("observables", observables_sha256(), lambda: obs.compute_observables(self.images).to_arrays())
        return obs.Observables.from_arrays(arrays)

    @property
    def segnet_outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """The network's (N, 64) pooled features and (N, 6) lit-pixel class fractions."""

        def compute() -> dict[str, np.ndarray]:
            features, fractions = segnet.segment_images(self.images, progress=self.progress)
            return {"features": features, "fractions": fractions}

        arrays = self._product("segnet", segnet.weights_sha256(), compute)
        return arrays["features"], arrays["fractions"]

    def features(self, extractor: str) -> np.ndarray:
        """Return the (N, D) float64 features of a registered extractor, memoised."""
        key = f"features:{extractor}"
        if key not in self._memo:
            if extractor == "pixels":
                self._memo[key] = self.images.reshape(len(self.images), -1).astype(np.float64)
            elif extractor == "physics":
                self._memo[key] = physics_feature_vector(self.observables, self.segnet_outputs[1])
            elif extractor == "segnet":
                self._memo[key] = self.segnet_outputs[0]
            else:
                self._memo[key] = get_extractor(extractor).extract(self.images, self.progress)
        return self._memo[key]

    def _product(self, product: str, sha256: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        if product in self._memo:
            return self._memo[product]
        arrays = self.cache.load(product, sha256) if self.cache is not None else None
        if arrays is None:
            arrays = compute()
            if self.cache is not None:
                self.cache.save(product, sha256, arrays)
        self._memo[product] = arrays
        return arrays


def _extract_pixels(images: np.ndarray, progress: bool) -> np.ndarray:
    return ImageSet(images, progress=progress).features("pixels")


def _extract_physics(images: np.ndarray, progress: bool) -> np.ndarray:
    return ImageSet(images, progress=progress).features("physics")


def _extract_segnet(images: np.ndarray, progress: bool) -> np.ndarray:
    return ImageSet(images, progress=progress).features("segnet")


register_extractor(FeatureExtractor("pixels", "raw pixel values, 0-255, 4096 per image", _extract_pixels, pixels_sha256))
register_extractor(
    FeatureExtractor("physics", "12 per-image physics quantities (PHYSICS_FEATURE_NAMES)", _extract_physics, physics_sha256)
)
register_extractor(
    FeatureExtractor("segnet", "segmentation-network bottleneck, mean and max pooled, 64 per image", _extract_segnet, segnet.weights_sha256)
)


def extractor_hashes() -> dict[str, str]:
    """Return each built-in extractor's SHA-256 of its weights or definition."""
    return {name: get_extractor(name).sha256() for name in ("pixels", "physics", "segnet")}
