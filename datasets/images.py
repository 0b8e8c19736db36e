"""The image contract: image sets are (N, 64, 64) uint8 arrays on the 0-255 scale."""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 64


class ImageFormatError(ValueError):
    """An image array that breaks the (N, 64, 64) uint8, 0-255 contract."""


def validate_images(images: object, *, name: str = "images", allow_float: bool = False) -> np.ndarray:
    """Check an image set and return it as a C-contiguous (N, 64, 64) uint8 array.

    With ``allow_float=True``, a floating-point array whose values are whole numbers in
    0-255 is accepted and converted (sample files written by other tools are often float).
    Raises ``ImageFormatError`` naming ``name``, the offending property and the fix.
    """
    array = np.asarray(images)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ImageFormatError(
            f"{name} has shape {array.shape}; expected (N, {IMAGE_SIZE}, {IMAGE_SIZE}). "
            f"Crop or resize the images to {IMAGE_SIZE}x{IMAGE_SIZE} pixels and stack them along axis 0."
        )
    if array.shape[0] == 0:
        raise ImageFormatError(f"{name} contains no images; expected at least one (N >= 1).")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            bad = int(np.count_nonzero(~np.isfinite(array)))
            raise ImageFormatError(
                f"{name} contains {bad} NaN or infinite values; replace them with 0-255 values before use."
            )
    elif array.dtype.kind not in "iu":
        raise ImageFormatError(
            f"{name} has dtype {array.dtype}; expected uint8 on the 0-255 scale (or integers in 0-255)."
        )
    low, high = array.min(), array.max()
    if low < 0 or high > 255:
        raise ImageFormatError(
            f"{name} has values from {low} to {high}; expected 0-255. "
            "Rescale the images to the 8-bit 0-255 scale first."
        )
    if array.dtype.kind == "f":
        if not allow_float:
            raise ImageFormatError(
                f"{name} has dtype {array.dtype}; expected uint8. Convert with np.round(...).astype(np.uint8)."
            )
        if not np.all(array == np.round(array)):
            raise ImageFormatError(
                f"{name} has non-integer values; expected whole numbers 0-255. Round them to integers first, "
                "after multiplying by 255 if they are on a 0-1 scale."
            )
    return np.ascontiguousarray(array.astype(np.uint8))


def postprocess(generated: np.ndarray, *, noise_threshold: int = 4) -> np.ndarray:
    """Apply the harness's shared post-processing to generator output.

    Rounds float images on the 0-255 scale, clips them to 0-255 and zeroes every pixel at or
    below ``noise_threshold`` (the reference work zeroed generated pixels <= 4/255). Returns
    (N, 64, 64) uint8. Raises ``ImageFormatError`` on a wrong shape or NaN values.
    """
    array = np.asarray(generated)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ImageFormatError(
            f"generated images have shape {array.shape}; expected (N, {IMAGE_SIZE}, {IMAGE_SIZE})."
        )
    if not 0 <= noise_threshold < 255:
        raise ValueError(f"noise_threshold is {noise_threshold}; expected an integer in 0-254.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ImageFormatError(
            "generated images contain NaN or infinite values; the model diverged. "
            "Check its training loss or lower the learning rate."
        )
    images = np.clip(np.rint(array.astype(np.float64)), 0, 255).astype(np.uint8)
    images[images <= noise_threshold] = 0
    return images
