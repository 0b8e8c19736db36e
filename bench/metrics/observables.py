"""Per-image physics observables of LArTPC images: clusters, track geometry, charge, dE/dx.

Coordinates are in pixels (3 mm in the 64x64 benchmark set); row index ``r`` grows down the
image and column index ``c`` to the right. Charge is the sum of 0-255 pixel values, so the
units are "pixel value" (ADC-like counts of the 8-bit image).

Clustering is DBSCAN on the coordinates of lit pixels with eps = 1.5 pixels and
min_samples = 3 (the point itself included, as in scikit-learn). On the pixel grid an eps
of 1.5 makes the neighbourhood of a pixel exactly its 8 neighbours, so DBSCAN reduces to
image operations: a lit pixel is a core point when its 3x3 window contains at least 3 lit
pixels, core points form clusters through 8-connectivity, and a lit non-core pixel beside
a core point joins that core point's cluster (the highest cluster id when several touch it;
scikit-learn picks the first cluster that reaches it). Everything else is noise.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

DBSCAN_EPS_PIXELS = 1.5
DBSCAN_MIN_SAMPLES = 3
# Slices at the stopping end averaged into the Bragg-peak ratio.
BRAGG_END_SLICES = 3
# Tracks shorter than this many 1-pixel slices get no Bragg-peak ratio (NaN).
BRAGG_MIN_SLICES = 6
PROFILE_LENGTH = 64

_PIXEL_CORNERS = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
_NEIGHBOURS_2D = np.ones((3, 3), dtype=bool)
# Connectivity inside each image of a stack, none across images.
_STACK_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_STACK_STRUCTURE[1] = _NEIGHBOURS_2D


@dataclasses.dataclass
class Observables:
    """Per-image observables of an image set of N images, all float64 unless stated.

    ``scalars`` maps an observable name to an (N,) array, NaN where it is undefined (for
    example the direction of an image without a cluster). ``intensity_counts`` is (N, 256)
    int64: per image, how many pixels hold each value 0-255. ``dedx_profiles`` is
    (N, 64): charge per 1-pixel slice of the main track, counted from its stopping end
    (the end with more charge), NaN past the track's end.
    """

    scalars: dict[str, np.ndarray]
    intensity_counts: np.ndarray
    dedx_profiles: np.ndarray

    def __len__(self) -> int:
        return int(self.intensity_counts.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Return a flat name -> array mapping, the layout of the on-disk cache."""
        arrays = {f"scalar_{name}": values for name, values in self.scalars.items()}
        arrays["intensity_counts"] = self.intensity_counts
        arrays["dedx_profiles"] = self.dedx_profiles
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Observables":
        scalars = {key[len("scalar_"):]: np.asarray(value) for key, value in arrays.items() if key.startswith("scalar_")}
        return cls(scalars, np.asarray(arrays["intensity_counts"]), np.asarray(arrays["dedx_profiles"]))


def dbscan_pixel_labels(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the lit pixels of every image with grid DBSCAN (eps 1.5, min_samples 3).

    Takes (N, 64, 64) images and returns two arrays. ``labels`` (N, 64, 64) int32 is 0 for
    unlit and noise pixels, and cluster ids are unique across the stack and increase image
    by image. ``first_label`` (N + 1,) int64 gives the id ranges: image i owns ids
    ``first_label[i] + 1`` to ``first_label[i + 1]``.
    """
    lit = images > 0

    # Core points: at least min_samples lit pixels in the 3x3 window (self included).
    window = np.zeros((1, 3, 3))
    window[0] = 1.0
    counts = ndimage.convolve(lit.astype(np.int16), window.astype(np.int16), mode="constant", cval=0)
    core = lit & (counts >= DBSCAN_MIN_SAMPLES)

    # Clusters: 8-connected components of core points, image by image.
    labels, _ = ndimage.label(core, structure=_STACK_STRUCTURE)
    labels = labels.astype(np.int32)

    # Border points: lit, not core, next to a core point; they take a neighbour's id.
    reach = ndimage.maximum_filter(labels, footprint=_STACK_STRUCTURE, mode="constant", cval=0)
    border = lit & ~core & (reach > 0)
    labels[border] = reach[border]

    per_image = np.array([labels[i].max() for i in range(len(images))], dtype=np.int64)
    first_label = np.concatenate([[0], np.maximum.accumulate(per_image)])
    return labels, first_label


def compute_observables(images: np.ndarray) -> Observables:
    """Compute every per-image observable of (N, 64, 64) uint8 images.

    Scalars (name: definition, unit):
    lit_pixels: number of non-zero pixels. charge: sum of pixel values. n_clusters: DBSCAN
    clusters. track_length: extent of the convex hull of the largest cluster's pixel squares
    along its first principal axis (pixels). track_width: hull area / track_length
    (pixels). direction: angle of the first principal axis from the column axis towards
    the row axis, 0-180 degrees. dedx_mean: largest-cluster charge / track_length.
    bragg_ratio: mean charge of the 3 end slices at the stopping end over the median slice
    charge, for tracks of at least 6 slices.
    """
    images = np.asarray(images)
    count = len(images)
    labels, first_label = dbscan_pixel_labels(images)
    cluster_sizes = np.bincount(labels.ravel())

    # Image-level sums: exact integer arithmetic, stored as float64.
    flat = images.reshape(count, -1)
    scalars = {
        "lit_pixels": np.count_nonzero(flat, axis=1).astype(np.float64),
        "charge": flat.sum(axis=1, dtype=np.int64).astype(np.float64),
        "n_clusters": np.diff(first_label).astype(np.float64),
    }
    for name in ("track_length", "track_width", "direction", "dedx_mean", "bragg_ratio"):
        scalars[name] = np.full(count, np.nan)
    profiles = np.full((count, PROFILE_LENGTH), np.nan)

    for index in range(count):
        start, stop = first_label[index], first_label[index + 1]
        if stop == start:
            scalars["track_length"][index] = 0.0
            scalars["track_width"][index] = 0.0
            continue
        largest = start + 1 + int(np.argmax(cluster_sizes[start + 1 : stop + 1]))
        rows, cols = np.nonzero(labels[index] == largest)
        charges = images[index][rows, cols].astype(np.float64)
        geometry = track_geometry(np.column_stack([rows, cols]).astype(np.float64), charges)
        for name in ("track_length", "track_width", "direction", "dedx_mean", "bragg_ratio"):
            scalars[name][index] = geometry[name]
        profile = geometry["profile"][:PROFILE_LENGTH]
        profiles[index, : len(profile)] = profile

    intensity_counts = _intensity_counts(flat)
    return Observables(scalars, intensity_counts, profiles)


def track_geometry(coords: np.ndarray, charges: np.ndarray) -> dict:
    """Measure one cluster: PCA axis, convex-hull length and width, direction and dE/dx.

    ``coords`` is (M, 2) pixel centres as (row, column), ``charges`` (M,) their values.
    Returns the scalar observables of ``compute_observables`` and ``profile``, the charge
    per 1-pixel slice along the axis starting from the stopping end.
    """
    # PCA: first principal axis of the unweighted pixel centres.
    centre = coords.mean(axis=0)
    centred = coords - centre
    covariance = centred.T @ centred / max(len(coords), 1)
    _, vectors = np.linalg.eigh(covariance)
    axis = vectors[:, 1]

    # Convex hull of the pixel squares: length along the axis, width = area / length.
    corners = (coords[:, None, :] + _PIXEL_CORNERS[None, :, :]).reshape(-1, 2)
    try:
        hull = ConvexHull(corners)
        vertices, area = corners[hull.vertices], float(hull.volume)
    except QhullError:
        # A cluster whose squares are collinear cannot occur, but keep the bounding box.
        vertices, area = corners, float(np.ptp(corners[:, 0]) * np.ptp(corners[:, 1]))
    along = vertices @ axis
    length = float(along.max() - along.min())
    width = area / length if length > 0 else 0.0

    # Direction of the axis, folded into [0, 180) degrees because the axis has no sign.
    direction = float(np.degrees(np.arctan2(axis[0], axis[1])) % 180.0)

    # dE/dx: charge in consecutive 1-pixel slices along the axis, oriented to the stopping end.
    position = centred @ axis
    slices = np.floor(position - position.min()).astype(np.int64)
    profile = np.bincount(slices, weights=charges)
    end = min(BRAGG_END_SLICES, len(profile))
    if profile[:end].mean() < profile[-end:].mean():
        profile = profile[::-1]
    profile = np.ascontiguousarray(profile)
    bragg = np.nan
    if len(profile) >= BRAGG_MIN_SLICES:
        median = float(np.median(profile))
        bragg = float(profile[:BRAGG_END_SLICES].mean() / median) if median > 0 else np.nan
    dedx = float(charges.sum() / length) if length > 0 else np.nan
    return {
        "track_length": length,
        "track_width": width,
        "direction": direction,
        "dedx_mean": dedx,
        "bragg_ratio": bragg,
        "profile": profile,
    }


def _intensity_counts(flat: np.ndarray) -> np.ndarray:
    """Return (N, 256) int64 histograms of pixel values, one row per image."""
    count = flat.shape[0]
    offsets = (np.arange(count, dtype=np.int64) * 256)[:, None]
    return np.bincount((flat.astype(np.int64) + offsets).ravel(), minlength=count * 256).reshape(count, 256)
