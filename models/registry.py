"""The generator registry: built-in families, the decorator, and entry-point plugins.

Third-party packages add generators through the entry-point group ``lartpcbench.generators``;
each entry point names a ``Generator`` subclass, registered under the entry point's name.
"""

from __future__ import annotations

import importlib
import logging
from importlib import metadata
from typing import Callable, TypeVar

from .base import Generator

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lartpcbench.generators"

# Built-in families are imported on first lookup, not when this module is imported.
_BUILTIN_MODULES = {
    "sgm": "lartpcbench.models.sgm.generator",
    "gan": "lartpcbench.models.gan.generator",
    "flow": "lartpcbench.models.flow.generator",
}

_REGISTRY: dict[str, type[Generator]] = {}
_entry_points_loaded = False

GeneratorT = TypeVar("GeneratorT", bound=type[Generator])


class UnknownGeneratorError(KeyError):
    """A generator name that no built-in family or plugin registered."""

    def __str__(self) -> str:
        return str(self.args[0])


def register_generator(name: str) -> Callable[[GeneratorT], GeneratorT]:
    """Class decorator that registers a ``Generator`` subclass under ``name``."""
    _check_name(name)

    def decorator(generator_class: GeneratorT) -> GeneratorT:
        _add(name, generator_class)
        return generator_class

    return decorator


def _check_name(name: str) -> None:
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"generator name {name!r} is invalid; use letters, digits, '-' and '_'.")


def _add(name: str, generator_class: type) -> None:
    _check_name(name)
    if not (isinstance(generator_class, type) and issubclass(generator_class, Generator)):
        raise TypeError(f"generator {name!r} must be a subclass of lartpcbench.models.Generator, got {generator_class!r}.")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not generator_class:
        raise ValueError(
            f"generator name {name!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
            "choose another name."
        )
    generator_class.name = name
    _REGISTRY[name] = generator_class


def load_entry_points(*, reload: bool = False) -> None:
    """Import and register every generator advertised in the ``lartpcbench.generators`` group."""
    global _entry_points_loaded
    if _entry_points_loaded and not reload:
        return
    _entry_points_loaded = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        generator_class = entry_point.load()
        _add(entry_point.name, generator_class)
        logger.debug("registered generator %r from entry point %s", entry_point.name, entry_point.value)


def get_generator_class(name: str) -> type[Generator]:
    """Return the generator class registered under ``name``; the error lists the known names."""
    if name in _BUILTIN_MODULES and name not in _REGISTRY:
        importlib.import_module(_BUILTIN_MODULES[name])
    if name not in _REGISTRY:
        load_entry_points()
    if name not in _REGISTRY:
        raise UnknownGeneratorError(
            f"unknown generator {name!r}; known generators: {available_generators()}. "
            f"Third-party models register through the {ENTRY_POINT_GROUP!r} entry-point group."
        )
    return _REGISTRY[name]


def available_generators() -> list[str]:
    """Return the sorted names of all built-in and plugin generators."""
    for module in _BUILTIN_MODULES.values():
        importlib.import_module(module)
    load_entry_points()
    return sorted(_REGISTRY)
