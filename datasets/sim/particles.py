"""Particle batches waiting for transport, and the energy deposits that transport leaves."""

from __future__ import annotations

import dataclasses

import numpy as np

# Species codes used inside the simulator, and the PDG codes written to the truth table.
ELECTRON, PHOTON, MUON, PION, PROTON = 0, 1, 2, 3, 4
SPECIES_BY_NAME = {"electron": ELECTRON, "photon": PHOTON, "muon": MUON, "pion": PION, "proton": PROTON}
PDG_CODES = {ELECTRON: 11, PHOTON: 22, MUON: 13, PION: 211, PROTON: 2212}

# Semantic classes, matching datasets.splits.SEMANTIC_CLASSES.
BACKGROUND, SHOWER, TRACK, MICHEL, DELTA, LOW_ENERGY = 0, 1, 2, 3, 4, 5


@dataclasses.dataclass
class ParticleBatch:
    """Particles to transport: species code, charge sign, position (cm), direction, kinetic
    energy (MeV), semantic class of their deposits, the index of the primary they descend from
    and whether the particle is that primary itself."""

    species: np.ndarray
    charge: np.ndarray
    position: np.ndarray
    direction: np.ndarray
    kinetic: np.ndarray
    semantic: np.ndarray
    primary: np.ndarray
    is_primary: np.ndarray

    @classmethod
    def empty(cls) -> "ParticleBatch":
        return cls(
            species=np.zeros(0, np.int8),
            charge=np.zeros(0, np.int8),
            position=np.zeros((0, 3)),
            direction=np.zeros((0, 3)),
            kinetic=np.zeros(0),
            semantic=np.zeros(0, np.uint8),
            primary=np.zeros(0, np.int16),
            is_primary=np.zeros(0, bool),
        )

    @classmethod
    def make(cls, species, charge, position, direction, kinetic, semantic, primary, is_primary=False) -> "ParticleBatch":
        """Build a batch, broadcasting scalar fields to the number of kinetic energies."""
        count = len(np.atleast_1d(kinetic))
        return cls(
            species=np.broadcast_to(np.asarray(species, np.int8), (count,)).copy(),
            charge=np.broadcast_to(np.asarray(charge, np.int8), (count,)).copy(),
            position=np.broadcast_to(np.asarray(position, float), (count, 3)).copy(),
            direction=np.broadcast_to(np.asarray(direction, float), (count, 3)).copy(),
            kinetic=np.atleast_1d(np.asarray(kinetic, float)).copy(),
            semantic=np.broadcast_to(np.asarray(semantic, np.uint8), (count,)).copy(),
            primary=np.broadcast_to(np.asarray(primary, np.int16), (count,)).copy(),
            is_primary=np.broadcast_to(np.asarray(is_primary, bool), (count,)).copy(),
        )

    def __len__(self) -> int:
        return len(self.kinetic)

    def select(self, mask: np.ndarray) -> "ParticleBatch":
        """Return the particles where ``mask`` (boolean or index array) selects them."""
        return ParticleBatch(**{name: getattr(self, name)[mask] for name in _BATCH_FIELDS})

    @staticmethod
    def concatenate(batches: list["ParticleBatch"]) -> "ParticleBatch":
        """Return one batch holding the particles of ``batches`` in order."""
        batches = [batch for batch in batches if len(batch)]
        if not batches:
            return ParticleBatch.empty()
        if len(batches) == 1:
            return batches[0]
        return ParticleBatch(**{name: np.concatenate([getattr(batch, name) for batch in batches]) for name in _BATCH_FIELDS})


_BATCH_FIELDS = tuple(field.name for field in dataclasses.fields(ParticleBatch))


@dataclasses.dataclass
class Deposits:
    """Energy deposits collected during transport, as lists of per-step arrays, and the
    steps of the primaries themselves.

    Each entry adds positions (k, 3) in cm, energies (k,) in MeV, the local stopping power
    (k,) in MeV/cm used by the recombination model, semantic classes (k,) and primary
    indices (k,).
    """

    positions: list[np.ndarray] = dataclasses.field(default_factory=list)
    energies: list[np.ndarray] = dataclasses.field(default_factory=list)
    dedx: list[np.ndarray] = dataclasses.field(default_factory=list)
    semantic: list[np.ndarray] = dataclasses.field(default_factory=list)
    primary: list[np.ndarray] = dataclasses.field(default_factory=list)
    path_start: list[np.ndarray] = dataclasses.field(default_factory=list)
    path_end: list[np.ndarray] = dataclasses.field(default_factory=list)
    path_primary: list[np.ndarray] = dataclasses.field(default_factory=list)

    def add_path(self, start: np.ndarray, end: np.ndarray, primary: np.ndarray) -> None:
        """Record steps (start and end points, cm) of primary particles themselves, for the truth table."""
        if len(start):
            self.path_start.append(start)
            self.path_end.append(end)
            self.path_primary.append(np.asarray(primary, np.int16))

    def add(self, positions, energies, dedx, semantic, primary) -> None:
        """Append deposits; scalar ``dedx``, ``semantic`` or ``primary`` apply to all of them."""
        count = len(energies)
        if count == 0:
            return
        self.positions.append(np.asarray(positions, float).reshape(count, 3))
        self.energies.append(np.asarray(energies, float))
        self.dedx.append(np.broadcast_to(np.asarray(dedx, float), (count,)))
        self.semantic.append(np.broadcast_to(np.asarray(semantic, np.uint8), (count,)))
        self.primary.append(np.broadcast_to(np.asarray(primary, np.int16), (count,)))

    def add_local(self, batch: ParticleBatch, energies: np.ndarray, dedx: float) -> None:
        """Deposit ``energies`` at the positions of ``batch`` (particles below their tracking cut)."""
        self.add(batch.position, energies, dedx, batch.semantic, batch.primary)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (positions, energies, dedx, semantic, primary) concatenated."""
        if not self.energies:
            return np.zeros((0, 3)), np.zeros(0), np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, np.int16)
        return (
            np.concatenate(self.positions),
            np.concatenate(self.energies),
            np.concatenate(self.dedx),
            np.concatenate(self.semantic),
            np.concatenate(self.primary),
        )
