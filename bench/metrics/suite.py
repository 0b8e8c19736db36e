"""The registered metrics: each adapts the pure functions to ``ImageSet`` inputs and returns results.

Sample sizes, batch counts and versions are fixed here and documented in docs/metrics.md.
Intervals are 68% intervals: bootstrap percentiles, batch percentiles or a standard error,
as each result's ``estimator`` states.
"""

from __future__ import annotations

import numpy as np

from . import c2st, distributions, frechet, kernels, memorisation, physics, prdc, transport
from .features import ImageSet, physics_sha256
from .registry import MetricSpec, register_metric
from .result import MetricResult
from .segnet import weights_sha256

KD_BATCH_SIZE = 1000
KD_BATCHES = 10
PIXEL_MMD_BATCH_SIZE = 1000
PIXEL_MMD_BATCHES = 5
TRANSPORT_BATCH_SIZE = 1000
TRANSPORT_BATCHES = 3
PRDC_MAX_SAMPLES = 10_000
PRDC_BOOTSTRAP = 200


def _result(spec: MetricSpec, name: str, value, low, high, n_real: int, n_generated: int, estimator: str, **extra) -> MetricResult:
    return MetricResult(
        name=name,
        value=float(value),
        ci_low=float(low),
        ci_high=float(high),
        n_real=int(n_real),
        n_generated=int(n_generated),
        version=spec.version,
        estimator=estimator,
        lower_is_better=extra.pop("lower_is_better", True),
        unit=extra.pop("unit", ""),
        details=extra,
    )


def _standardised(generated: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both feature sets by the reference's per-column mean and standard deviation."""
    mean = reference.mean(axis=0)
    scale = reference.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (generated - mean) / scale, (reference - mean) / scale


def _frechet(spec: MetricSpec, generated: np.ndarray, reference: np.ndarray, seed, extractor: str, sha: str):
    fit = frechet.frechet_distance_extrapolated(generated, *frechet.gaussian_statistics(reference), seed=seed)
    estimator = (
        f"FD_inf: intercept of FD vs 1/N over {len(fit['sizes'])} generated subsets "
        f"({fit['sizes'][0]}-{fit['sizes'][-1]} images); interval +-1 standard error of the intercept"
    )
    return [
        _result(
            spec, spec.name, fit["fd_inf"], fit["fd_inf"] - fit["fd_inf_se"], fit["fd_inf"] + fit["fd_inf_se"],
            len(reference), len(generated), estimator, extractor=extractor, extractor_sha256=sha,
            fd_full_n=fit["fd_full"], slope=fit["slope"], subset_sizes=fit["sizes"], subset_values=fit["values"],
        )
    ]


def compute_fd_segnet(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    return _frechet(spec, generated.features("segnet"), reference.features("segnet"), seed, "segnet", weights_sha256())


def compute_fd_physics(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    gen, ref = _standardised(generated.features("physics"), reference.features("physics"))
    return _frechet(spec, gen, ref, seed, "physics", physics_sha256())


def compute_kd_physics(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    gen, ref = _standardised(generated.features("physics"), reference.features("physics"))
    values = kernels.batched_mmd2(gen, ref, kernels.polynomial_kernel, batch_size=KD_BATCH_SIZE, n_batches=KD_BATCHES, seed=seed)
    low, high = distributions.percentile_interval(values)
    batch = min(kernels.batch_size_for(len(gen), KD_BATCH_SIZE), kernels.batch_size_for(len(ref), KD_BATCH_SIZE))
    estimator = f"median of unbiased MMD^2 (cubic polynomial kernel) over {KD_BATCHES} batches of {batch}; 16-84% of batches"
    return [
        _result(spec, spec.name, np.median(values), low, high, len(ref), len(gen), estimator,
                extractor="physics", extractor_sha256=physics_sha256(), batch_values=values.tolist())
    ]


def compute_mmd_pixels(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    # Flat uint8 views: each batch is converted to float64 inside the kernel, never the whole set.
    gen = generated.images.reshape(len(generated), -1)
    ref = reference.images.reshape(len(reference), -1)
    values = kernels.batched_mmd2(
        gen, ref, kernels.gaussian_mixture_kernel, batch_size=PIXEL_MMD_BATCH_SIZE, n_batches=PIXEL_MMD_BATCHES, seed=seed
    )
    low, high = distributions.percentile_interval(values)
    batch = min(
        kernels.batch_size_for(len(gen), PIXEL_MMD_BATCH_SIZE), kernels.batch_size_for(len(ref), PIXEL_MMD_BATCH_SIZE)
    )
    estimator = (
        f"median of unbiased MMD^2, mean of Gaussian kernels sigma=2^10..2^15 on 0-255 pixels, over "
        f"{PIXEL_MMD_BATCHES} batches of {batch}; 16-84% of batches"
    )
    return [_result(spec, spec.name, np.median(values), low, high, len(ref), len(gen), estimator, batch_values=values.tolist())]


def _transport(spec, generated: ImageSet, reference: ImageSet, seed, distance, label: str):
    rng = np.random.default_rng(seed)
    size = min(
        kernels.batch_size_for(len(generated), TRANSPORT_BATCH_SIZE),
        kernels.batch_size_for(len(reference), TRANSPORT_BATCH_SIZE),
    )
    values = []
    for _ in range(TRANSPORT_BATCHES):
        pick_gen = rng.choice(len(generated), size, replace=False)
        pick_ref = rng.choice(len(reference), size, replace=False)
        values.append(distance(generated.images[pick_gen], reference.images[pick_ref]))
    values = np.array(values)
    estimator = f"median {label} over {TRANSPORT_BATCHES} batches of {size} vs {size} images; min-max of batches"
    return [
        _result(spec, spec.name, np.median(values), values.min(), values.max(), len(reference), len(generated),
                estimator, unit="pixel value", batch_values=values.tolist())
    ]


def compute_w1_pixels(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    return _transport(spec, generated, reference, seed, transport.wasserstein_pixels, "exact W1 (POT emd2)")


def compute_sinkhorn_pixels(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    label = f"Sinkhorn transport cost (POT, reg = {transport.SINKHORN_REG_FRACTION} x median cost)"
    return _transport(spec, generated, reference, seed, transport.sinkhorn_pixels, label)


def compute_prdc(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    rng = np.random.default_rng(seed)
    gen, ref = generated.features("segnet"), reference.features("segnet")
    gen = gen[rng.choice(len(gen), PRDC_MAX_SAMPLES, replace=False)] if len(gen) > PRDC_MAX_SAMPLES else gen
    ref = ref[rng.choice(len(ref), PRDC_MAX_SAMPLES, replace=False)] if len(ref) > PRDC_MAX_SAMPLES else ref
    terms = prdc.prdc_contributions(ref, gen, k=prdc.NEAREST_K)
    estimator = f"k={prdc.NEAREST_K} nearest neighbours; 68% bootstrap ({PRDC_BOOTSTRAP}) of per-sample terms, radii fixed"
    results = []
    for name in ("precision", "recall", "density", "coverage"):
        values = terms[name]
        replicates = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(PRDC_BOOTSTRAP)]
        low, high = distributions.percentile_interval(np.array(replicates))
        results.append(
            _result(spec, name, values.mean(), low, high, len(ref), len(gen), estimator, lower_is_better=False,
                    extractor="segnet", extractor_sha256=weights_sha256())
        )
    return results


def compute_c2st(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    outcome = c2st.classifier_two_sample_test(generated.images, reference.images, seed=int(seed.generate_state(1)[0]))
    estimator = (
        f"ROC AUC of a CNN on {outcome['n_test_per_class']} held-out images per class "
        f"({outcome['n_per_class']} per class in all, 60/20/20 train/calibration/test); 68% bootstrap of test images"
    )
    details = {key: outcome[key] for key in ("brier", "ece", "ece_uncalibrated", "accuracy", "n_per_class")}
    return [_result(spec, spec.name, outcome["auc"], outcome["ci_low"], outcome["ci_high"], len(reference), len(generated), estimator, **details)]


def compute_physics(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    gen = (generated.observables, generated.segnet_outputs[1])
    ref = (reference.observables, reference.segnet_outputs[1])
    comparisons = physics.compare_observables(gen, ref, seed=seed)
    estimator = f"68% bootstrap ({distributions.DEFAULT_BOOTSTRAP} resamples of images per side)"
    sha = physics_sha256()
    results = []
    for observable, statistics in comparisons.items():
        unit = physics.OBSERVABLES[observable].unit
        for statistic in physics.STATISTICS:
            value, low, high = statistics[statistic]
            results.append(
                _result(spec, f"{statistic}_{observable}", value, low, high, len(reference), len(generated), estimator,
                        unit=unit if statistic == "w1" else "", observable=observable, extractor="physics", extractor_sha256=sha)
            )
    return results


def compute_memorisation(spec, generated: ImageSet, reference: ImageSet, extras, seed):
    rng = np.random.default_rng(seed)
    train, heldout = extras["train"], extras["heldout"]
    gen_pick = rng.choice(len(generated), min(memorisation.MAX_QUERIES, len(generated)), replace=False)
    held_pick = rng.choice(len(heldout), min(memorisation.MAX_QUERIES, len(heldout)), replace=False)
    gen_distances = memorisation.nearest_train_distances(generated.images[gen_pick], train)
    held_distances = memorisation.nearest_train_distances(heldout[held_pick], train)
    scores = memorisation.memorisation_scores(gen_distances, held_distances)
    replicates = []
    for _ in range(distributions.DEFAULT_BOOTSTRAP):
        replicates.append(
            memorisation.memorisation_scores(
                gen_distances[rng.integers(0, len(gen_distances), len(gen_distances))],
                held_distances[rng.integers(0, len(held_distances), len(held_distances))],
            )
        )
    estimator = f"{len(gen_pick)} generated and {len(held_pick)} held-out queries against {len(train)} training images; 68% bootstrap"
    details = {"threshold": scores["threshold"], "heldout_near_copy_fraction": scores["heldout_near_copy_fraction"], "n_train": len(train)}
    results = []
    for name, lower in (("nn_train_ratio", False), ("near_copy_fraction", True)):
        low, high = distributions.percentile_interval(np.array([r[name] for r in replicates]))
        results.append(_result(spec, name, scores[name], low, high, len(held_pick), len(gen_pick), estimator, lower_is_better=lower, **details))
    return results


def _physics_result_names() -> tuple[str, ...]:
    return tuple(f"{statistic}_{name}" for name in physics.OBSERVABLES for statistic in physics.STATISTICS)


_SPECS = (
    ("fd_segnet", "Frechet distance in segmentation-network features, FD_inf", compute_fd_segnet, ("segnet",), 2000, ("fd_segnet",)),
    ("fd_physics", "Frechet distance in standardised physics features, FD_inf", compute_fd_physics, ("physics",), 1000, ("fd_physics",)),
    ("kd_physics", "kernel distance (unbiased MMD^2, cubic kernel) in physics features", compute_kd_physics, ("physics",), 1000, ("kd_physics",)),
    ("mmd_pixels", "Gaussian-mixture MMD^2 on raw pixels", compute_mmd_pixels, ("pixels",), 1000, ("mmd_pixels",)),
    ("w1_pixels", "exact Wasserstein-1 distance between image sets on raw pixels", compute_w1_pixels, ("pixels",), 2000, ("w1_pixels",)),
    ("sinkhorn_pixels", "Sinkhorn transport cost between image sets on raw pixels", compute_sinkhorn_pixels, ("pixels",), 2000, ("sinkhorn_pixels",)),
    ("prdc", "precision, recall, density and coverage in segmentation-network features", compute_prdc, ("segnet",), 5000,
     ("precision", "recall", "density", "coverage")),
    ("c2st_auc", "classifier two-sample test AUC", compute_c2st, ("pixels",), 1000, ("c2st_auc",)),
    ("physics", "per-observable W1, KS and separation power", compute_physics, ("physics",), 1000, _physics_result_names()),
    ("memorisation", "nearest-training-image distances against held-out images", compute_memorisation, ("pixels",), 500,
     ("nn_train_ratio", "near_copy_fraction")),
)

METRIC_VERSIONS = {name: "1" for name, *_ in _SPECS}

for _name, _description, _compute, _extractors, _min_samples, _results in _SPECS:
    register_metric(MetricSpec(_name, METRIC_VERSIONS[_name], _description, _compute, _extractors, _min_samples, _results))
