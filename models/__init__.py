"""Generator interface, registry and the built-in model families."""

from .base import FitReport, Generator, TrainConfig
from .registry import (
    ENTRY_POINT_GROUP,
    UnknownGeneratorError,
    available_generators,
    get_generator_class,
    register_generator,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "FitReport",
    "Generator",
    "TrainConfig",
    "UnknownGeneratorError",
    "available_generators",
    "get_generator_class",
    "register_generator",
]
