"""Tests of the flow baseline: invertibility, log-determinants, bits/dim and temperature."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

from lartpcbench.models import TrainConfig, get_generator_class
from lartpcbench.models.config import ConfigError, config_from_dict, load_toml
from lartpcbench.models.flow.config import SCALE_MAPS, FlowConfig
from lartpcbench.models.flow.generator import FlowGenerator
from lartpcbench.models.seeding import image_generators
from lartpcbench.models.flow.networks import (
    ChannelGaussian,
    bits_per_dim,
    build_multiscale_flow,
    dequantize,
    latent_shapes,
    to_pixel_scale,
)

TINY = FlowConfig(levels=2, blocks_per_level=1, hidden_channels=4, ema_decay=0.5, warmup_steps=0)


def line_images(count: int, seed: int = 0) -> np.ndarray:
    """Return (count, 64, 64) uint8 images, each with one thin straight track of random brightness."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 64, 64), np.uint8)
    for image in images:
        x0, y0 = rng.uniform(8, 56, 2)
        angle, length = rng.uniform(0, np.pi), rng.uniform(20, 40)
        t = np.linspace(-length / 2, length / 2, int(2 * length))
        xs = np.clip(np.rint(x0 + t * np.cos(angle)), 0, 63).astype(int)
        ys = np.clip(np.rint(y0 + t * np.sin(angle)), 0, 63).astype(int)
        image[ys, xs] = rng.integers(60, 256)
    return images


def tiny_flow(*, num_classes: int = 0, scale_map: str = "sigmoid_inv") -> torch.nn.Module:
    """A float64 two-level Glow on 8x8 images with every weight moved off its identity start."""
    torch.manual_seed(0)
    flow = build_multiscale_flow(
        image_size=8, levels=2, blocks_per_level=2, hidden_channels=8, scale_map=scale_map, logit_alpha=0.05,
        num_classes=num_classes,
    ).double()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return flow


def test_registry_returns_flow_class():
    assert get_generator_class("flow") is FlowGenerator
    assert FlowGenerator.supports_likelihood


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_config_files_load(name):
    import lartpcbench.models.flow as flow_package

    path = Path(flow_package.__file__).parent / "configs" / f"{name}.toml"
    table = load_toml(path)
    model_config = config_from_dict(FlowConfig, table["model"])
    assert config_from_dict(TrainConfig, table["train"]).steps >= 1
    assert model_config.temperature == 1.0
    assert "Budget" in path.read_text()


@pytest.mark.parametrize(
    "values", [{"levels": 0}, {"levels": 6}, {"scale_map": "tanh"}, {"logit_alpha": 0.5}, {"temperature": 0.0}]
)
def test_config_rejects_invalid_values(values):
    with pytest.raises(ConfigError):
        config_from_dict(FlowConfig, values)


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_latent_shapes_cover_every_pixel(levels):
    shapes = latent_shapes(64, levels)
    assert len(shapes) == levels
    assert sum(math.prod(shape) for shape in shapes) == 64 * 64


@pytest.mark.parametrize("scale_map", SCALE_MAPS)
def test_flow_is_invertible(scale_map):
    flow = tiny_flow(scale_map=scale_map)
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.98 + 0.01
    z, log_det_inverse = flow.inverse_and_log_det(x)
    x_again, log_det_forward = flow.forward_and_log_det(z)
    torch.testing.assert_close(x_again, x, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_det_forward, -log_det_inverse, rtol=0, atol=1e-9)


@pytest.mark.parametrize("scale_map", ["sigmoid_inv", "sigmoid"])
def test_log_det_matches_brute_force_jacobian(scale_map):
    flow = tiny_flow(scale_map=scale_map)
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 0.98 + 0.01

    def to_latent(flat: torch.Tensor) -> torch.Tensor:
        z, _ = flow.inverse_and_log_det(flat.view(1, 1, 8, 8))
        return torch.cat([part.flatten() for part in z])

    jacobian = torch.autograd.functional.jacobian(to_latent, x.flatten())
    assert jacobian.shape == (64, 64)
    _, log_abs_det = torch.linalg.slogdet(jacobian)
    _, log_det = flow.inverse_and_log_det(x)
    assert log_det.item() == pytest.approx(log_abs_det.item(), abs=1e-8)


def test_log_prob_is_base_density_plus_log_det():
    flow = tiny_flow(num_classes=2)
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 0.98 + 0.01
    y = torch.tensor([0, 1])
    z, log_det = flow.inverse_and_log_det(x)
    expected = log_det + sum(base.log_prob(part, y) for base, part in zip(flow.q0, z))
    torch.testing.assert_close(flow.log_prob(x, y), expected)


def test_channel_gaussian_matches_scipy():
    base = ChannelGaussian((2, 3, 3), num_classes=2).double()
    with torch.no_grad():
        base.loc.copy_(torch.tensor([0.5, -1.0], dtype=torch.float64).view(1, 2, 1, 1))
        base.log_scale.copy_(torch.tensor([0.2, -0.3], dtype=torch.float64).view(1, 2, 1, 1))
        base.loc_class.copy_(torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64))
    z = torch.randn(2, 2, 3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = torch.tensor([0, 1])
    loc = np.array([[0.5, -1.0], [1.5, 1.0]])[:, :, None, None]
    scale = np.exp(np.array([0.2, -0.3]))[None, :, None, None]
    expected = stats.norm.logpdf(z.numpy(), loc, scale).reshape(2, -1).sum(axis=1)
    np.testing.assert_allclose(base.log_prob(z, y).detach().numpy(), expected, rtol=1e-12)

    # Temperature scales the deviation from the mean
    eps = torch.ones(2, 2, 3, 3, dtype=torch.float64)
    deviation = base.latent_from_noise(eps, y, temperature=0.5) - base.latent_from_noise(0 * eps, y)
    np.testing.assert_allclose(deviation.detach().numpy(), 0.5 * np.broadcast_to(scale, (2, 2, 3, 3)), rtol=1e-12)


def test_identity_flow_bits_on_uniform_data():
    # An untrained RealNVP-scaled flow is the logit transform followed by a rotation, so its
    # density on x ~ U[0, 1) is N(logit(a + b x)) times the logit Jacobian b / (s (1 - s)).
    alpha, beta = 0.05, 0.9
    torch.manual_seed(0)
    flow = build_multiscale_flow(
        image_size=16, levels=2, blocks_per_level=1, hidden_channels=4, scale_map="exp", logit_alpha=alpha
    ).double()
    generator = torch.Generator().manual_seed(6)
    pixels = torch.randint(0, 256, (256, 16, 16), generator=generator, dtype=torch.uint8)
    noise = torch.rand(pixels.shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        measured = bits_per_dim(flow.log_prob(dequantize(pixels, noise), None), 16 * 16).mean().item()

    def negative_log_density(x: float) -> float:
        s = alpha + beta * x
        return -stats.norm.logpdf(special.logit(s)) - math.log(beta) + math.log(s) + math.log(1 - s)

    expected_nats, _ = integrate.quad(negative_log_density, 0.0, 1.0)
    assert measured == pytest.approx(expected_nats / math.log(2) + 8, abs=0.03)


def test_dequantize_and_pixel_scale_round_trip():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    for value in (0.01, 0.5, 0.99):
        x = dequantize(pixels, torch.full((1, 16, 16), value))
        assert x.min() >= 0
        assert x.max() < 1
        np.testing.assert_array_equal(np.rint(to_pixel_scale(x)), pixels.numpy())


def test_sample_before_fit_raises():
    with pytest.raises(RuntimeError, match="call fit"):
        FlowGenerator(TINY).sample(2, seed=0)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    torch.set_num_threads(2)
    directory = tmp_path_factory.mktemp("flow")
    model = FlowGenerator(TINY)
    images = line_images(32)
    start = model.fit(images, TrainConfig(steps=1, batch_size=8, learning_rate=2e-3), progress=False)
    initial_bits = model.log_likelihood(images[:8]).mean()
    report = model.fit(
        images, TrainConfig(steps=25, batch_size=8, learning_rate=2e-3), val_images=images[:8],
        checkpoint_dir=directory, progress=False,
    )
    return model, images, start, initial_bits, report, directory


def test_training_lowers_bits_per_dim(fitted):
    model, images, _, initial_bits, report, _ = fitted
    final_bits = model.log_likelihood(images[:8]).mean()
    assert final_bits < initial_bits
    assert final_bits < 8.0
    assert report.losses["val_bits_per_dim"] == pytest.approx(model.log_likelihood(images[:8], seed=0).mean())


def test_low_temperature_sample_ignores_seed(fitted):
    model, _, _, _, _, directory = fitted
    cold = FlowGenerator(dataclasses.replace(TINY, temperature=1e-6))
    cold._restore(directory)
    np.testing.assert_allclose(cold.sample(1, seed=0), cold.sample(1, seed=1), atol=1e-2)
    assert not np.allclose(model.sample(1, seed=0), model.sample(1, seed=1), atol=1e-2)


def test_class_conditional_flow():
    config = dataclasses.replace(TINY, class_conditional=True)
    model = FlowGenerator(config)
    images = line_images(8)
    labels = np.array([0, 1] * 4, dtype=np.int8)
    with pytest.raises(ValueError, match="no labels"):
        model.fit(images, TrainConfig(steps=1, batch_size=4), progress=False)
    model.fit(images, TrainConfig(steps=2, batch_size=4), labels=labels, progress=False)
    tracks = model.sample(2, seed=0, labels=np.zeros(2, dtype=np.int8))
    showers = model.sample(2, seed=0, labels=np.ones(2, dtype=np.int8))
    assert not np.array_equal(tracks, showers)

    # The marginal likelihood lies between the per-class likelihoods
    marginal = model.log_likelihood(images[:2])
    assert np.all(np.isfinite(marginal))
    pixels = torch.from_numpy(images[:2])
    per_class = []
    for label in (0, 1):
        y = torch.full((2,), label)
        noise = torch.stack([torch.rand((64, 64), generator=g) for g in image_generators(0, range(2))])
        with torch.no_grad():
            per_class.append(bits_per_dim(model._ema.log_prob(dequantize(pixels, noise), y), 64 * 64).numpy())
    assert np.all(marginal >= np.minimum(*per_class) - 1e-6)
    assert np.all(marginal <= np.maximum(*per_class) + 1e-6)
