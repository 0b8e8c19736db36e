"""The simulator's configuration: one frozen dataclass, validated once when it is built."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lartpcbench.models.config import ConfigError, config_from_dict, config_to_dict, require

PARTICLE_NAMES = ("muon", "pion", "proton", "electron", "photon")


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Parameters of the particle-bomb simulator and the 64x64 crop rule.

    Energies are kinetic energies in MeV; lengths are in mm where the name says so.
    ``particle_weights`` gives the relative probability of each entry of ``particles`` for
    every particle of an event. The image value is visible energy in MeV (deposited energy
    times the box-model recombination factor relative to that of a minimum-ionising particle)
    divided by ``mev_per_adc``, rounded and saturated at 255.
    """

    particles: tuple[str, ...] = PARTICLE_NAMES
    particle_weights: tuple[float, ...] = (0.36, 0.22, 0.28, 0.07, 0.07)
    min_particles: int = 1
    max_particles: int = 5
    single_particle: bool = False
    muon_energy_mev: tuple[float, float] = (50.0, 1000.0)
    pion_energy_mev: tuple[float, float] = (50.0, 1000.0)
    proton_energy_mev: tuple[float, float] = (50.0, 400.0)
    electron_energy_mev: tuple[float, float] = (50.0, 1000.0)
    photon_energy_mev: tuple[float, float] = (50.0, 1000.0)
    step_mm: float = 0.5
    delta_ray_threshold_mev: float = 1.0
    bremsstrahlung_cut_mev: float = 1.0
    electron_cut_mev: float = 0.1
    photon_cut_mev: float = 0.03
    low_energy_threshold_mev: float = 1.0
    hadronic_interactions: bool = True
    world_size_px: int = 256
    pixel_mm: float = 3.0
    crop_size: int = 64
    min_lit_fraction: float = 0.01
    mev_per_adc: float = 0.01
    recombination: bool = True
    field_v_cm: float = 500.0
    box_alpha: float = 0.93
    box_beta: float = 0.212
    max_attempts: int = 50

    def __post_init__(self) -> None:
        require(len(self.particles) > 0, "particles is empty; expected at least one of " f"{list(PARTICLE_NAMES)}.")
        unknown = [name for name in self.particles if name not in PARTICLE_NAMES]
        require(not unknown, f"particles contains unknown names {unknown}; known particles: {list(PARTICLE_NAMES)}.")
        require(
            len(self.particle_weights) == len(self.particles),
            f"particle_weights has {len(self.particle_weights)} entries; expected {len(self.particles)}, one per "
            "entry of particles.",
        )
        require(
            all(math.isfinite(w) and w >= 0 for w in self.particle_weights) and sum(self.particle_weights) > 0,
            f"particle_weights is {list(self.particle_weights)}; expected non-negative numbers with a positive sum.",
        )
        require(self.min_particles >= 1, f"min_particles is {self.min_particles}; expected at least 1.")
        require(
            self.max_particles >= self.min_particles,
            f"max_particles is {self.max_particles}; expected at least min_particles ({self.min_particles}).",
        )
        for name in PARTICLE_NAMES:
            _check_energy_range(f"{name}_energy_mev", getattr(self, f"{name}_energy_mev"))
        for name in ("step_mm", "pixel_mm", "mev_per_adc", "field_v_cm", "box_alpha", "box_beta"):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"{name} is {value}; expected a positive number.")
        require(self.step_mm <= 1.0, f"step_mm is {self.step_mm}; expected at most 1 mm (sub-mm stepping).")
        for name in (
            "delta_ray_threshold_mev",
            "bremsstrahlung_cut_mev",
            "electron_cut_mev",
            "photon_cut_mev",
            "low_energy_threshold_mev",
        ):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"{name} is {value}; expected a positive energy in MeV.")
        require(self.crop_size > 0, f"crop_size is {self.crop_size}; expected a positive number of pixels.")
        require(
            self.world_size_px >= 2 * self.crop_size,
            f"world_size_px is {self.world_size_px}; expected at least twice crop_size ({2 * self.crop_size}).",
        )
        require(
            0.0 <= self.min_lit_fraction < 1.0,
            f"min_lit_fraction is {self.min_lit_fraction}; expected a fraction in [0, 1).",
        )
        require(self.max_attempts >= 1, f"max_attempts is {self.max_attempts}; expected at least 1.")

    @property
    def particle_count_range(self) -> tuple[int, int]:
        """The (min, max) number of particles per event, (1, 1) for single-particle images."""
        return (1, 1) if self.single_particle else (self.min_particles, self.max_particles)

    def energy_range(self, particle: str) -> tuple[float, float]:
        """Return the (low, high) kinetic energy range of ``particle`` in MeV."""
        return getattr(self, f"{particle}_energy_mev")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-friendly dict (tuples become lists)."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None, *, where: str = "") -> "SimConfig":
        """Build a config from a mapping, rejecting unknown keys."""
        return config_from_dict(cls, values, where=where)


def _check_energy_range(name: str, value: Any) -> None:
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ConfigError(f"{name} is {value!r}; expected a pair (low, high) of kinetic energies in MeV.")
    low, high = value
    require(
        math.isfinite(low) and math.isfinite(high) and 0 < low <= high,
        f"{name} is ({low}, {high}); expected 0 < low <= high kinetic energies in MeV.",
    )
