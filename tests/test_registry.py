import sys
import textwrap

import numpy as np
import pytest

from lartpcbench.models import Generator, UnknownGeneratorError, available_generators, get_generator_class, register_generator
from lartpcbench.models import registry

PLUGIN_MODULE = '''
import dataclasses, json
from pathlib import Path
import numpy as np
from lartpcbench.models import FitReport, Generator


@dataclasses.dataclass(frozen=True)
class PixelConfig:
    smoothing: float = 1.0


class PixelOccupancyGenerator(Generator):
    """Independent-pixel model: each pixel lit with its training frequency, value from its mean."""

    family = "independent-pixels"
    config_class = PixelConfig

    def fit(self, train_images, train_config, *, val_images=None, labels=None, checkpoint_dir=None, progress=True):
        lit = train_images > 0
        self.occupancy = (lit.sum(0) + self.config.smoothing) / (len(train_images) + 2 * self.config.smoothing)
        self.mean = np.where(lit.any(0), train_images.sum(0) / np.maximum(lit.sum(0), 1), 0.0)
        return FitReport(steps=1, images_seen=len(train_images), wall_time_s=0.0)

    def sample(self, num_samples, *, seed, batch_size=256, labels=None):
        rows = [np.random.default_rng([seed, index]).random((64, 64)) < self.occupancy for index in range(num_samples)]
        return (np.stack(rows) * self.mean).astype(np.float32)

    def save(self, directory):
        Path(directory).mkdir(parents=True, exist_ok=True)
        np.savez(Path(directory) / "pixels.npz", occupancy=self.occupancy, mean=self.mean)

    @classmethod
    def load(cls, directory, *, device="cpu"):
        generator = cls()
        with np.load(Path(directory) / "pixels.npz") as stored:
            generator.occupancy, generator.mean = stored["occupancy"], stored["mean"]
        return generator

    def num_parameters(self):
        return 2 * 64 * 64
'''


@pytest.fixture
def plugin_distribution(tmp_path, monkeypatch):
    """Install a third-party distribution on sys.path that advertises one generator entry point."""
    (tmp_path / "pixel_plugin.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "pixel_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pixel-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""
        [lartpcbench.generators]
        pixels = pixel_plugin:PixelOccupancyGenerator
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "pixels"
    registry._REGISTRY.pop("pixels", None)
    registry._entry_points_loaded = False
    sys.modules.pop("pixel_plugin", None)


def test_entry_point_generator_is_discovered(plugin_distribution):
    registry.load_entry_points(reload=True)
    generator_class = get_generator_class(plugin_distribution)
    assert generator_class.__name__ == "PixelOccupancyGenerator"
    assert generator_class.name == "pixels"
    assert "pixels" in available_generators()

    images = np.zeros((10, 64, 64), np.uint8)
    images[:, 5, 5] = 200
    generator = generator_class()
    generator.fit(images, None)
    samples = generator.sample(3, seed=0)
    assert samples.shape == (3, 64, 64) and samples.dtype == np.float32
    assert (samples[:, 5, 5] == 200).sum() >= 1


def test_builtin_generators_are_registered():
    names = available_generators()
    for name in ("sgm", "gan", "flow"):
        assert name in names
        assert issubclass(get_generator_class(name), Generator)
    assert get_generator_class("sgm").family == "diffusion"


def test_unknown_generator_lists_known_names():
    with pytest.raises(UnknownGeneratorError, match=r"unknown generator 'nope'; known generators: \[.*'gan'"):
        get_generator_class("nope")


def test_register_rejects_non_generator_and_duplicates():
    with pytest.raises(TypeError, match="must be a subclass"):
        register_generator("not-a-model")(dict)
    with pytest.raises(ValueError, match="invalid"):
        register_generator("bad name!")
    gan_class = get_generator_class("gan")

    class Impostor(gan_class):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_generator("gan")(Impostor)
