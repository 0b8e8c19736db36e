"""``lartpc-bench data``: build catalog datasets, crop detector planes, import arrays, inspect files."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lartpcbench.datasets import catalog
from lartpcbench.datasets.arrayfile import read_array
from lartpcbench.datasets.crop import CropConfig, crop_planes
from lartpcbench.datasets.sim.card import write_card
from lartpcbench.datasets.importer import LABEL_CHOICES, read_inputs, split_imported
from lartpcbench.datasets.splits import read_split, read_split_attrs, write_split_file

logger = logging.getLogger(__name__)


def add_data_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="build, crop, import and inspect split files")
    data = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    build = data.add_parser("build", help="build a catalog dataset (default sim64-v1) into a split file")
    build.add_argument("name", nargs="?", default="sim64-v1", help="catalog name (see `data list`)")
    build.add_argument("--out", type=Path, help="split file to write (default: the data directory)")
    build.add_argument("--workers", type=int, help="worker processes (default: all CPU cores)")
    build.set_defaults(handler=run_build)

    listing = data.add_parser("list", help="list the catalog datasets and where they are stored")
    listing.set_defaults(handler=run_list)

    crop = data.add_parser("crop", help="cut 64x64 crops from full-size detector planes into a split file")
    crop.add_argument("input", type=Path, help="planes file (npy, npz or HDF5), shape (planes, rows, columns)")
    crop.add_argument("--out", type=Path, required=True, help="split file to write (.h5)")
    crop.add_argument("--key", help="array name inside an npz or HDF5 file (default: the only array)")
    crop.add_argument("--name", help="dataset name recorded in the file (default: the input's stem)")
    crop.add_argument("--version", default="1", help="dataset version recorded in the file")
    crop.add_argument("--lit-threshold", type=float, default=0.0, help="a pixel is lit above this value (input scale)")
    crop.add_argument("--min-lit-fraction", type=float, default=0.01, help="keep a crop when at least this fraction of pixels is lit")
    crop.add_argument("--min-cluster-pixels", type=int, default=30, help="smallest cluster, in pixels, that seeds a crop")
    crop.add_argument("--fractions", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST"), help="fractions of planes per split")
    crop.add_argument("--seed", type=int, default=0, help="seed of the plane-to-split assignment")
    crop.set_defaults(handler=run_crop)

    imported = data.add_parser("import", help="turn N x 64 x 64 array files into a split file")
    imported.add_argument("inputs", type=Path, nargs="+", help="npy, npz or HDF5 files; names containing 'test' form the test split")
    imported.add_argument("--out", type=Path, required=True, help="split file to write (.h5)")
    imported.add_argument("--key", help="array name inside npz or HDF5 inputs (default: the only array)")
    imported.add_argument("--label", default="auto", choices=["auto", *LABEL_CHOICES], help="image label; auto reads 'track'/'shower' from file names")
    imported.add_argument("--name", help="dataset name recorded in the file (default: the output's stem)")
    imported.add_argument("--version", default="1", help="dataset version recorded in the file")
    imported.add_argument("--val-fraction", type=float, default=0.1, help="fraction of the training pool used for val")
    imported.add_argument("--test-fraction", type=float, default=0.1, help="fraction used for test when no input is named *test*")
    imported.add_argument("--seed", type=int, default=0, help="shuffle seed")
    imported.set_defaults(handler=run_import)

    info = data.add_parser("info", help="print a split file's attributes and sizes (verifies checksums)")
    info.add_argument("path", type=Path)
    info.set_defaults(handler=run_info)

    card = data.add_parser("card", help="write a dataset card (statistics and plots) for a split file")
    card.add_argument("path", type=Path, help="split file to describe")
    card.add_argument("--out", type=Path, default=Path("docs/dataset-card.md"), help="Markdown file to write")
    card.add_argument("--image-dir", type=Path, default=Path("docs/img/dataset"), help="folder for the PNG plots")
    card.set_defaults(handler=run_card)


def _reject_output_as_input(path: Path, inputs: list[Path]) -> None:
    if any(path.resolve() == item.resolve() for item in inputs):
        raise ValueError(f"--out {path} is also an input; write the split file to a new path.")


def run_build(args: argparse.Namespace) -> int:
    path = catalog.build_dataset(args.name, args.out, workers=args.workers, progress=not args.no_progress)
    print(f"wrote {path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for name in catalog.available_datasets():
        path = catalog.dataset_path(name)
        print(f"{name:20s} {'built' if path.is_file() else 'not built':10s} {path}")
    return 0


def run_crop(args: argparse.Namespace) -> int:
    _reject_output_as_input(args.out, [args.input])
    config = CropConfig(
        lit_threshold=args.lit_threshold, min_lit_fraction=args.min_lit_fraction, min_cluster_pixels=args.min_cluster_pixels
    )
    planes = read_array(args.input, key=args.key)
    splits = crop_planes(planes, config, fractions=tuple(args.fractions), seed=args.seed, progress=not args.no_progress)
    params = {"rule": "charge centroid of a connected cluster, >= min_lit_fraction lit", **vars(config), "fractions": list(args.fractions)}
    write_split_file(
        args.out, splits, dataset=args.name or args.input.stem, version=args.version,
        source=f"crops of {args.input.name}", generator_params=params, seed=args.seed,
    )
    print(f"wrote {args.out}: " + ", ".join(f"{name} {len(split)}" for name, split in splits.items()))
    return 0


def run_import(args: argparse.Namespace) -> int:
    _reject_output_as_input(args.out, list(args.inputs))
    inputs = read_inputs(args.inputs, key=args.key, label=args.label)
    splits = split_imported(inputs, val_fraction=args.val_fraction, test_fraction=args.test_fraction, seed=args.seed)
    params = {"inputs": [item.path.name for item in inputs], "labels": [item.label for item in inputs],
              "val_fraction": args.val_fraction, "test_fraction": args.test_fraction}
    write_split_file(
        args.out, splits, dataset=args.name or args.out.stem, version=args.version,
        source="imported arrays", generator_params=params, seed=args.seed,
    )
    print(f"wrote {args.out}: " + ", ".join(f"{name} {len(split)}" for name, split in splits.items()))
    return 0


def run_info(args: argparse.Namespace) -> int:
    attrs = read_split_attrs(args.path)
    for name in attrs["sizes"]:
        read_split(args.path, name)
    attrs["checksums_verified"] = True
    print(json.dumps(attrs, indent=2, default=str))
    return 0


def run_card(args: argparse.Namespace) -> int:
    print(f"wrote {write_card(args.path, args.out, args.image_dir)}")
    return 0
