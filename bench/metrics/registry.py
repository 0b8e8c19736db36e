"""Registries of feature extractors and metrics, validated on registration.

A feature extractor maps (N, 64, 64) uint8 images to (N, D) float64 features and carries a
SHA-256 that identifies its weights or definition. A metric is registered as a
``MetricSpec``: its name, version, recommended sample size and a compute function with one
call shape, ``compute(spec, generated, reference, extras, seed) -> list[MetricResult]``.
``generated`` and ``reference`` are ``ImageSet`` objects that compute and memoise features,
``extras`` maps "train" and "heldout" to image arrays (or None), and ``seed`` is the
metric's ``numpy.random.SeedSequence``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

import numpy as np

from .result import MetricResult

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownNameError(KeyError):
    """A metric or extractor name that is not registered."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """A named map from images to features with a hash of its weights or definition.

    ``extract(images, progress)`` returns (N, D) float64; ``sha256()`` returns a hex digest
    that changes whenever the features would change.
    """

    name: str
    description: str
    extract: Callable[[np.ndarray, bool], np.ndarray]
    sha256: Callable[[], str]


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """A registered metric: name, version, the extractors it uses and its compute function.

    ``min_samples`` is the smallest number of images per side that the protocol recommends;
    ``evaluate`` warns below it. ``result_names`` lists the names of the results it returns.
    """

    name: str
    version: str
    description: str
    compute: Callable[..., list[MetricResult]]
    extractors: tuple[str, ...]
    min_samples: int
    result_names: tuple[str, ...]


_EXTRACTORS: dict[str, FeatureExtractor] = {}
_METRICS: dict[str, MetricSpec] = {}


def register_extractor(extractor: FeatureExtractor) -> FeatureExtractor:
    """Add an extractor; raise on a malformed name, a non-callable field or a duplicate name."""
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(f"expected a FeatureExtractor, got {type(extractor).__name__}.")
    _check_name(extractor.name, "extractor")
    if not callable(extractor.extract) or not callable(extractor.sha256):
        raise TypeError(f"extractor {extractor.name!r} needs callable 'extract' and 'sha256' fields.")
    _check_unique(extractor.name, _EXTRACTORS, "extractor")
    _EXTRACTORS[extractor.name] = extractor
    return extractor


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add a metric; raise on a malformed name, unknown extractors, no version or a duplicate."""
    if not isinstance(spec, MetricSpec):
        raise TypeError(f"expected a MetricSpec, got {type(spec).__name__}.")
    _check_name(spec.name, "metric")
    if not spec.version:
        raise ValueError(f"metric {spec.name!r} has an empty version; give it a version string such as '1'.")
    if not callable(spec.compute):
        raise TypeError(f"metric {spec.name!r} needs a callable 'compute' field.")
    missing = [name for name in spec.extractors if name not in _EXTRACTORS]
    if missing:
        raise ValueError(f"metric {spec.name!r} uses unregistered extractors {missing}; known: {sorted(_EXTRACTORS)}.")
    if spec.min_samples < 2:
        raise ValueError(f"metric {spec.name!r} has min_samples {spec.min_samples}; expected at least 2.")
    _check_unique(spec.name, _METRICS, "metric")
    _METRICS[spec.name] = spec
    return spec


def get_extractor(name: str) -> FeatureExtractor:
    """Return the extractor registered as ``name``; the error lists the known names."""
    if name not in _EXTRACTORS:
        raise UnknownNameError(f"unknown feature extractor {name!r}; known extractors: {sorted(_EXTRACTORS)}.")
    return _EXTRACTORS[name]


def get_metric(name: str) -> MetricSpec:
    """Return the metric registered as ``name``; the error lists the known names."""
    if name not in _METRICS:
        raise UnknownNameError(f"unknown metric {name!r}; available metrics: {sorted(_METRICS)}.")
    return _METRICS[name]


def available_extractors() -> list[str]:
    """Return the sorted names of the registered extractors."""
    return sorted(_EXTRACTORS)


def registered_metrics() -> list[str]:
    """Return the sorted names of the registered metrics."""
    return sorted(_METRICS)


def _check_name(name: Any, kind: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} is invalid; use lower-case letters, digits and '_', starting with a letter.")


def _check_unique(name: str, table: dict, kind: str) -> None:
    if name in table:
        raise ValueError(f"{kind} {name!r} is already registered; choose another name.")
