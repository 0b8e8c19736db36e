"""The physics-based LArTPC image simulator: particle-bomb events in liquid argon, cropped to 64x64.

Public entry points: ``SimConfig`` (the parameters) and ``simulate_images`` (a ``SplitData``
of images, per-pixel classes, track/shower labels and a truth table).
"""

from .config import PARTICLE_NAMES, SimConfig
from .simulate import SimulationError, simulate_image, simulate_images
from .truth import truth_dtype

# Changes whenever the physics or the crop rule changes the images for a given seed.
SIMULATOR_VERSION = "1.0"

__all__ = [
    "PARTICLE_NAMES",
    "SIMULATOR_VERSION",
    "SimConfig",
    "SimulationError",
    "simulate_image",
    "simulate_images",
    "truth_dtype",
]
