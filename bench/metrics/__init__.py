"""The metric suite: feature extractors, fidelity, physics and memorisation metrics.

Call ``evaluate(generated, reference, ...)`` for a list of ``MetricResult``; see
docs/metrics.md for every metric's definition, sample sizes and version. Names load on
first use, so importing ``lartpcbench.bench.metrics.result`` alone does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_METRICS": "evaluation",
    "FAST_METRICS": "evaluation",
    "available_metrics": "evaluation",
    "evaluate": "evaluation",
    "metric_seed": "evaluation",
    "observable_histograms": "evaluation",
    "extractor_hashes": "features",
    "FeatureExtractor": "registry",
    "MetricSpec": "registry",
    "UnknownNameError": "registry",
    "available_extractors": "registry",
    "get_extractor": "registry",
    "get_metric": "registry",
    "register_extractor": "registry",
    "register_metric": "registry",
    "MetricResult": "result",
    "train_segmentation_network": "segnet_training",
    "evaluate_segmentation_network": "segnet_training",
    "build_training_split": "segnet_training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
