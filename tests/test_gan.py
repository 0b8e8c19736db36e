"""Tests of the GAN baseline: configs, intensity scales, conditioning and sparse samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lartpcbench.models import TrainConfig, get_generator_class
from lartpcbench.models.config import ConfigError, config_from_dict, load_toml
from lartpcbench.models.gan.config import GANConfig
from lartpcbench.models.gan.generator import GANGenerator
from lartpcbench.models.gan.networks import ImageDiscriminator, ImageGenerator
from lartpcbench.models.seeding import check_labels, image_generators

TINY = GANConfig(latent_dim=8, base_channels=4, ema_decay=0.9)


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


def config_paths() -> list[Path]:
    import lartpcbench.models.gan as gan_package

    return sorted((Path(gan_package.__file__).parent / "configs").glob("*.toml"))


def test_registry_returns_gan_class():
    assert get_generator_class("gan") is GANGenerator
    assert GANGenerator.family == "gan"


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_config_files_load(name):
    paths = {path.stem: path for path in config_paths()}
    table = load_toml(paths[name])
    model_config = config_from_dict(GANConfig, table["model"])
    train_config = config_from_dict(TrainConfig, table["train"])
    assert model_config.intensity_scale in ("log", "linear")
    assert train_config.steps >= 1
    assert "Budget" in paths[name].read_text()


@pytest.mark.parametrize(
    "values",
    [{"intensity_scale": "sqrt"}, {"latent_dim": 0}, {"ema_decay": 1.0}, {"r1_gamma": -1.0}, {"num_classes": 1}],
)
def test_config_rejects_invalid_values(values):
    with pytest.raises(ConfigError):
        config_from_dict(GANConfig, values)


def test_config_rejects_unknown_key():
    with pytest.raises(ConfigError, match="unknown keys"):
        config_from_dict(GANConfig, {"latent_size": 8})


@pytest.mark.parametrize("scale", ["log", "linear"])
def test_intensity_scale_round_trip(scale):
    model = GANGenerator(GANConfig(intensity_scale=scale))
    pixels = torch.arange(256, dtype=torch.uint8).view(4, 8, 8).repeat(1, 8, 8)
    scaled = model._to_model_scale(pixels)
    assert scaled.min() == -1.0
    assert scaled.max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(model._to_pixel_scale(scaled).numpy(), pixels.numpy(), atol=1e-3)


def test_log_scale_moves_noise_threshold():
    model = GANGenerator(GANConfig(intensity_scale="log"))
    threshold = model._to_model_scale(torch.full((1, 1, 1), 4, dtype=torch.uint8)).item()
    # 2 log(5) / log(256) - 1
    assert threshold == pytest.approx(2 * np.log(5) / np.log(256) - 1)


def test_networks_shapes_and_untrained_output_is_dark():
    torch.manual_seed(0)
    generator = ImageGenerator(8, 4, num_classes=2, output_bias=-2.0)
    discriminator = ImageDiscriminator(4, num_classes=2)
    labels = torch.tensor([0, 1, 1])
    images = generator(torch.randn(3, 8), labels)
    assert images.shape == (3, 1, 64, 64)
    assert images.abs().max() <= 1.0
    assert images.mean() < -0.8
    assert discriminator(images, labels).shape == (3,)


def test_image_generators_depend_on_seed_and_index():
    first = [torch.randn(4, generator=g) for g in image_generators(3, range(3))]
    again = [torch.randn(4, generator=g) for g in image_generators(3, [2])]
    other_seed = [torch.randn(4, generator=g) for g in image_generators(4, [2])]
    assert torch.equal(first[2], again[0])
    assert not torch.equal(first[0], first[1])
    assert not torch.equal(first[2], other_seed[0])


def test_check_labels_rejects_unknown_class():
    with pytest.raises(ValueError, match="unknown labels"):
        check_labels(np.array([0, -1, 1]), 3, 2, name="labels")
    with pytest.raises(ValueError, match="shape"):
        check_labels(np.array([0, 1]), 3, 2, name="labels")


def test_sample_before_fit_raises():
    with pytest.raises(RuntimeError, match="call fit"):
        GANGenerator(TINY).sample(2, seed=0)


def test_sample_rejects_negative_seed():
    model = GANGenerator(TINY)
    model.fit(line_images(8), TrainConfig(steps=1, batch_size=4), progress=False)
    with pytest.raises(ValueError, match="seed"):
        model.sample(2, seed=-1)


def test_class_conditional_fit_and_sample():
    config = GANConfig(latent_dim=8, base_channels=4, class_conditional=True)
    model = GANGenerator(config)
    images = line_images(8)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int8)
    with pytest.raises(ValueError, match="no labels"):
        model.fit(images, TrainConfig(steps=1, batch_size=4), progress=False)
    model.fit(images, TrainConfig(steps=2, batch_size=4), labels=labels, progress=False)
    np.testing.assert_allclose(model._class_probs.numpy(), [0.75, 0.25])
    tracks = model.sample(3, seed=0, labels=np.zeros(3, dtype=np.int8))
    showers = model.sample(3, seed=0, labels=np.ones(3, dtype=np.int8))
    assert not np.array_equal(tracks, showers)
    assert model.sample(3, seed=0).shape == (3, 64, 64)


def test_unconditional_sample_rejects_labels():
    model = GANGenerator(TINY)
    model.fit(line_images(8), TrainConfig(steps=1, batch_size=4), progress=False)
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, seed=0, labels=np.zeros(2, dtype=np.int8))


def test_resume_rejects_other_config(tmp_path):
    GANGenerator(TINY).fit(line_images(8), TrainConfig(steps=1, batch_size=4), checkpoint_dir=tmp_path, progress=False)
    other = GANGenerator(GANConfig(latent_dim=8, base_channels=4, ema_decay=0.5))
    with pytest.raises(ValueError, match="same config"):
        other.fit(line_images(8), TrainConfig(steps=2, batch_size=4), checkpoint_dir=tmp_path, progress=False)
