"""The LArTPC segmentation network (a small U-ResNet) used as a feature extractor.

It labels every pixel as background, shower, track, Michel electron, delta ray or
low-energy deposit (the classes of the split files' ``semantic`` arrays). As a feature
extractor it returns a pooled mid-level activation: the mean and the maximum over
positions of the 16x16 bottleneck's channels, 64 numbers per image. The weights ship in
``weights/segnet-v1/`` as a checkpoint (``state.pt`` plus ``checkpoint.json``). The
SHA-256 of ``state.pt`` identifies them in every metric result, as Inception's hash does
for FID.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from tqdm.auto import tqdm

from lartpcbench.models.checkpoint import CheckpointError, has_checkpoint, load_checkpoint

logger = logging.getLogger(__name__)

ARCHITECTURE = "uresnet-8-v1"
BASE_CHANNELS = 8
NUM_CLASSES = 6
FEATURE_DIM = 8 * BASE_CHANNELS
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "segnet-v1"
INFERENCE_BATCH = 256


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch normalisation and an identity shortcut."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def _conv_bn_relu(channels_in: int, channels_out: int, *, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class SegmentationNetwork(nn.Module):
    """U-ResNet: 64x64 -> 32x32 -> 16x16 encoder, transposed-convolution decoder, additive skips.

    Input (B, 1, 64, 64) contains log1p(pixel) / log(256). ``forward`` returns class logits
    (B, 6, 64, 64) and, with ``return_features=True``, also the (B, 64) pooled features.
    """

    def __init__(self, base_channels: int = BASE_CHANNELS, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        c = base_channels
        self.stem = _conv_bn_relu(1, c)
        self.encode_64 = ResidualBlock(c)
        self.down_32 = _conv_bn_relu(c, 2 * c, stride=2)
        self.encode_32 = ResidualBlock(2 * c)
        self.down_16 = _conv_bn_relu(2 * c, 4 * c, stride=2)
        self.bottleneck = ResidualBlock(4 * c)
        self.up_32 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.decode_32 = _conv_bn_relu(2 * c, 2 * c)
        self.up_64 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.decode_64 = _conv_bn_relu(c, c)
        self.head = nn.Conv2d(c, num_classes, 1)

    def forward(self, x: torch.Tensor, *, return_features: bool = False):
        skip_64 = self.encode_64(self.stem(x))
        skip_32 = self.encode_32(self.down_32(skip_64))
        middle = self.bottleneck(self.down_16(skip_32))
        decoded = self.decode_32(self.up_32(middle) + skip_32)
        logits = self.head(self.decode_64(self.up_64(decoded) + skip_64))
        if not return_features:
            return logits
        features = torch.cat([middle.mean(dim=(2, 3)), middle.amax(dim=(2, 3))], dim=1)
        return logits, features


def network_input(images: np.ndarray) -> torch.Tensor:
    """Map (N, 64, 64) 0-255 images to the network's (N, 1, 64, 64) log-scaled float32 input."""
    scaled = np.log1p(np.asarray(images, np.float32)) / np.float32(np.log(256.0))
    return torch.from_numpy(scaled.astype(np.float32)[:, None])


@functools.lru_cache(maxsize=4)
def load_segmentation_network(weights: str | Path = DEFAULT_WEIGHTS) -> tuple[SegmentationNetwork, str, dict]:
    """Load a trained network in eval mode; return it, the SHA-256 of its weights and its metadata.

    ``weights`` is a checkpoint folder written by ``train_segmentation_network``. Raises
    ``CheckpointError`` when it is missing, damaged or built for another architecture.
    """
    folder = Path(weights)
    if not has_checkpoint(folder):
        raise CheckpointError(
            f"no segmentation-network weights in {folder}; train them with "
            "lartpcbench.bench.metrics.segnet_training.train_segmentation_network(split_path, out_path, ...)."
        )
    state, metadata = load_checkpoint(folder)
    if metadata.get("architecture") != ARCHITECTURE:
        raise CheckpointError(
            f"{folder} contains weights of a {metadata.get('architecture')!r} network; expected {ARCHITECTURE!r}. "
            "Retrain them with train_segmentation_network."
        )
    network = SegmentationNetwork()
    network.load_state_dict(state["model"])
    network.eval()
    fuse_batch_norm(network)
    # Channels-last convolutions run about twice as fast on CPU for this network.
    network = network.to(memory_format=torch.channels_last)
    return network, str(metadata["state_sha256"]), metadata


def fuse_batch_norm(network: nn.Module) -> None:
    """Fold every (Conv2d, BatchNorm2d) pair of an eval-mode network into the convolution, in place.

    The fused network computes the same function up to float rounding, with one layer less
    per pair; it must not be trained afterwards.
    """
    for module in network.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[index] = fuse_conv_bn_eval(conv, norm)
                module[index + 1] = nn.Identity()


def weights_sha256(weights: str | Path = DEFAULT_WEIGHTS) -> str:
    """Return the SHA-256 of the network weights, as recorded and verified at load time."""
    return load_segmentation_network(weights)[1]


def segment_images(
    images: np.ndarray,
    *,
    weights: str | Path = DEFAULT_WEIGHTS,
    batch_size: int = INFERENCE_BATCH,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the network on (N, 64, 64) images; return pooled features and class fractions.

    ``features`` is (N, 64) float64. ``fractions`` is (N, 6) float64: per class, the share of
    an image's lit pixels that the network assigns to it (NaN rows for empty images).
    """
    network = load_segmentation_network(weights)[0]
    count = len(images)
    features = np.empty((count, FEATURE_DIM))
    class_counts = np.zeros((count, NUM_CLASSES))
    with torch.inference_mode():
        for start in tqdm(range(0, count, batch_size), desc="segmentation network", disable=not progress):
            batch = images[start : start + batch_size]
            inputs = network_input(batch).to(memory_format=torch.channels_last)
            logits, pooled = network(inputs, return_features=True)
            predicted = logits.argmax(dim=1).numpy()
            lit = batch > 0
            for label in range(NUM_CLASSES):
                class_counts[start : start + len(batch), label] = ((predicted == label) & lit).sum(axis=(1, 2))
            features[start : start + len(batch)] = pooled.double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = class_counts / class_counts.sum(axis=1, keepdims=True)
    return features, fractions
