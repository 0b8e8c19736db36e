"""On-disk cache of reference-side features, one npz file per dataset version, split and extractor.

Files live at ``<cache_dir>/<reference_key>/<product>-<hash[:16]>.npz`` where ``hash`` is the
extractor's SHA-256, so new weights or a new definition never read old features. Each file
also stores the SHA-256 of the images it was computed from. A file whose images do not
match is ignored with a warning and overwritten. Files are written atomically.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from lartpcbench.datasets.fileio import atomic_path
from lartpcbench.datasets.splits import array_sha256

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_IMAGES_KEY = "__images_sha256__"


class FeatureCache:
    """Reads and writes the cached products of one reference image set."""

    def __init__(self, cache_dir: str | Path, reference_key: str, images: np.ndarray) -> None:
        if not _KEY.match(reference_key) or ".." in reference_key.split("/"):
            raise ValueError(
                f"reference_key {reference_key!r} is invalid; expected path segments of letters, digits, '.', '_' "
                "and '-' joined by '/', for example 'sim64-v1/test/<sha256>'."
            )
        self.folder = Path(cache_dir) / reference_key
        self.images_sha256 = array_sha256(np.asarray(images))

    def path(self, product: str, sha256: str) -> Path:
        """Return the file that contains ``product`` computed with the extractor hash ``sha256``."""
        return self.folder / f"{product}-{sha256[:16]}.npz"

    def load(self, product: str, sha256: str) -> dict[str, np.ndarray] | None:
        """Return the cached arrays, or None when absent, unreadable or from other images."""
        path = self.path(product, sha256)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as handle:
                arrays = {key: handle[key] for key in handle.files}
        except (OSError, ValueError) as error:
            logger.warning("ignoring unreadable feature cache %s (%s); recomputing", path, error)
            return None
        if str(arrays.pop(_IMAGES_KEY, "")) != self.images_sha256:
            logger.warning("feature cache %s was computed from other images; recomputing", path)
            return None
        logger.debug("loaded cached %s features from %s", product, path)
        return arrays

    def save(self, product: str, sha256: str, arrays: dict[str, np.ndarray]) -> None:
        """Write ``arrays`` atomically, tagged with the SHA-256 of the images."""
        path = self.path(product, sha256)
        with atomic_path(path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **arrays, **{_IMAGES_KEY: np.array(self.images_sha256)})
        logger.debug("cached %s features in %s", product, path)
