"""The registered sgm generator: configs, fit, sample, save/load, exact resume and likelihood."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from lartpcbench.models.base import TrainConfig
from lartpcbench.models.checkpoint import CheckpointError
from lartpcbench.models.config import ConfigError
from lartpcbench.models.registry import get_generator_class
from lartpcbench.models.sgm.config import SGMConfig, load_config_file, sgm_config_from_dict
from lartpcbench.models.sgm.generator import SGMGenerator

from conftest import draw_line_images

TINY = {
    "network": {"base_channels": 8, "channel_multipliers": [1, 2], "num_res_blocks": 1, "attention_resolutions": [8],
                "dropout": 0.0, "patch_size": 4},
    "sampler": {"name": "ddim", "steps": 4, "rtol": 1e-3, "atol": 1e-3},
    "warmup_steps": 3,
    "ema_decay": 0.9,
}
TRAIN = TrainConfig(steps=4, batch_size=4, learning_rate=1e-3, seed=0, log_every=2)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Run on one torch thread: on a shared 2-core machine, two threads per process oversubscribe the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images():
    return draw_line_images(16, seed=3)


@pytest.fixture(scope="module")
def trained(images):
    generator = SGMGenerator(sgm_config_from_dict(TINY))
    generator.fit(images, TRAIN, progress=False)
    return generator


def test_registry_returns_sgm():
    generator_class = get_generator_class("sgm")
    assert generator_class is SGMGenerator
    assert generator_class.family == "diffusion"


def test_paper_config_has_reference_settings():
    model, train = load_config_file("paper")
    assert model.network.base_channels == 128
    assert model.network.channel_multipliers == (1, 2, 2, 2)
    assert model.network.num_res_blocks == 4
    assert model.network.attention_resolutions == (16,)
    assert model.network.dropout == 0.1
    assert (model.sde.kind, model.sde.beta_min, model.sde.beta_max) == ("vp", 0.1, 20.0)
    assert (model.ema_decay, model.warmup_steps, model.grad_clip) == (0.9999, 5000, 1.0)
    assert (model.sampler.name, model.sampler.steps) == ("euler_maruyama", 1000)
    assert (train.batch_size, train.learning_rate) == (128, 2e-4)
    assert model == SGMConfig()


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_bundled_configs_load(name):
    model, train = load_config_file(name)
    assert isinstance(model, SGMConfig)
    assert isinstance(train, TrainConfig)


def test_config_rejects_unknown_and_invalid_values():
    with pytest.raises(ConfigError, match="unknown keys"):
        sgm_config_from_dict({"network": {"channels": 4}})
    with pytest.raises(ConfigError, match="sampler.name"):
        sgm_config_from_dict({"sampler": {"name": "euler"}})
    with pytest.raises(ConfigError, match="attention_resolutions"):
        sgm_config_from_dict({"network": {"attention_resolutions": [12]}})


def test_sample_shape_range_and_seed(trained):
    first = trained.sample(5, seed=1, batch_size=5)
    assert first.shape == (5, 64, 64)
    assert first.dtype == np.float32
    assert first.min() >= 0.0
    assert first.max() <= 255.0
    assert np.array_equal(first, trained.sample(5, seed=1, batch_size=5))
    assert not np.allclose(first, trained.sample(5, seed=2, batch_size=5))


def test_sample_independent_of_batch_size(trained):
    whole = trained.sample(5, seed=4, batch_size=5)
    split = trained.sample(5, seed=4, batch_size=2)
    assert np.allclose(whole, split, atol=1e-2)


def test_evaluations_per_image_matches_sampler(trained):
    assert trained.function_evaluations_per_image() == 4.0


def test_save_load_round_trip(trained, tmp_path):
    trained.save(tmp_path / "model")
    loaded = SGMGenerator.load(tmp_path / "model")
    assert loaded.config == trained.config
    assert loaded.num_parameters() == trained.num_parameters()
    assert np.array_equal(loaded.sample(3, seed=7), trained.sample(3, seed=7))


def test_load_rejects_damaged_checkpoint(trained, tmp_path):
    trained.save(tmp_path / "model")
    state_file = tmp_path / "model" / "state.pt"
    state_file.write_bytes(state_file.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        SGMGenerator.load(tmp_path / "model")


def test_resume_gives_identical_next_steps(images, tmp_path):
    config = sgm_config_from_dict({**TINY, "network": {**TINY["network"], "dropout": 0.1}})
    straight = SGMGenerator(config)
    straight.fit(images, TRAIN, progress=False)

    interrupted = SGMGenerator(config)
    interrupted.fit(images, dataclasses.replace(TRAIN, steps=2), checkpoint_dir=tmp_path / "run", progress=False)
    resumed = SGMGenerator(config)
    report = resumed.fit(images, TRAIN, checkpoint_dir=tmp_path / "run", progress=False)

    assert report.resumed_from_step == 2
    assert report.steps == 2
    for key, value in straight.network.state_dict().items():
        assert torch.equal(value, resumed.network.state_dict()[key]), key
    for key, value in straight.ema.state_dict().items():
        assert torch.equal(value, resumed.ema.state_dict()[key]), key
    metadata = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert metadata["step"] == 4


def test_resume_rejects_other_config(images, tmp_path):
    SGMGenerator(sgm_config_from_dict(TINY)).fit(images, dataclasses.replace(TRAIN, steps=1), checkpoint_dir=tmp_path, progress=False)
    other = SGMGenerator(sgm_config_from_dict({**TINY, "ema_decay": 0.5}))
    with pytest.raises(CheckpointError, match="another model config"):
        other.fit(images, TRAIN, checkpoint_dir=tmp_path, progress=False)

    # Only the sampler changed: training resumes
    sampler_only = SGMGenerator(sgm_config_from_dict({**TINY, "sampler": {"name": "heun_edm", "steps": 3}}))
    report = sampler_only.fit(images, dataclasses.replace(TRAIN, steps=2), checkpoint_dir=tmp_path, progress=False)
    assert report.resumed_from_step == 1


def test_conditional_sampling_uses_labels(images):
    config = sgm_config_from_dict({**TINY, "network": {**TINY["network"], "num_classes": 2}})
    generator = SGMGenerator(config)
    labels = np.array([0, 1] * 8, dtype=np.int8)
    generator.fit(images, dataclasses.replace(TRAIN, steps=2), labels=labels, progress=False)
    tracks = generator.sample(2, seed=0, labels=np.array([0, 0]))
    showers = generator.sample(2, seed=0, labels=np.array([1, 1]))
    assert not np.array_equal(tracks, showers)
    with pytest.raises(ValueError, match="0 \\(track\\)"):
        generator.sample(2, seed=0, labels=np.array([0, 3]))


def test_unconditional_rejects_labels(trained):
    with pytest.raises(ValueError, match="num_classes"):
        trained.sample(2, seed=0, labels=np.array([0, 1]))


def test_log_likelihood_bits_per_dim(trained, images):
    bits = trained.log_likelihood(images[:2], seed=0)
    assert bits.shape == (2,)
    assert np.all(np.isfinite(bits))
    assert np.all(bits > 0)
    assert np.array_equal(bits, trained.log_likelihood(images[:2], seed=0))


def test_sample_before_fit_raises():
    with pytest.raises(RuntimeError, match="fit"):
        SGMGenerator(sgm_config_from_dict(TINY)).sample(1, seed=0)
