"""Distributed data parallel helpers shared by the model families.

A run launched with ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) joins a process group
(gloo on CPU, nccl on CUDA); without it every helper is a no-op, so the same code runs in one
process. Rank 0 is the main process, which alone writes files.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    """This process's place in a run: ``rank`` of ``world_size`` processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _environment_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError as error:
        raise ValueError(f"environment variable {name}={value!r} is not an integer; torchrun sets it to one.") from error


def local_device(device: str) -> str:
    """Return the device this process uses: under torchrun a bare "cuda" becomes "cuda:LOCAL_RANK".

    Without that mapping every rank would pick GPU 0, which nccl rejects.
    """
    if str(device) == "cuda" and _environment_int("WORLD_SIZE", 1) > 1:
        return f"cuda:{_environment_int('LOCAL_RANK', 0)}"
    return str(device)


def init_distributed(device: str = "cpu") -> DistributedContext:
    """Join the process group that ``torchrun`` describes, once; return this process's context.

    Uses nccl for a CUDA ``device`` and gloo otherwise. With ``WORLD_SIZE`` unset or 1 this
    returns the single-process context and starts nothing.
    """
    world_size = _environment_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistributedContext()
    if not dist.is_initialized():
        backend = "nccl" if str(device).startswith("cuda") else "gloo"
        if backend == "nccl":
            # NOTE: never run here (no GPU on the development machines); the gloo path is tested.
            torch.cuda.set_device(torch.device(local_device(device)))
        dist.init_process_group(backend=backend)
        logger.info("joined process group: rank %d of %d, backend %s", dist.get_rank(), world_size, backend)
    return DistributedContext(dist.get_rank(), dist.get_world_size(), _environment_int("LOCAL_RANK", 0))


def shard_slice(total: int, context: DistributedContext) -> slice:
    """Return this rank's contiguous share of ``total`` items; shares differ in size by at most one."""
    base, extra = divmod(total, context.world_size)
    start = context.rank * base + min(context.rank, extra)
    return slice(start, start + base + (1 if context.rank < extra else 0))


def gather_arrays(array: np.ndarray, context: DistributedContext) -> np.ndarray:
    """Concatenate every rank's ``array`` along axis 0 in rank order; every rank gets the result."""
    if not context.is_distributed:
        return array
    parts: list[np.ndarray | None] = [None] * context.world_size
    dist.all_gather_object(parts, array)
    return np.concatenate(parts, axis=0)


def barrier(context: DistributedContext) -> None:
    if context.is_distributed:
        dist.barrier()


def wrap_data_parallel(module: torch.nn.Module, context: DistributedContext, device: str) -> torch.nn.Module:
    """Wrap ``module`` in DistributedDataParallel when distributed; return it unchanged otherwise."""
    if not context.is_distributed:
        return module
    device_ids = [torch.device(device).index or 0] if str(device).startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def broadcast_flag(flag: bool, context: DistributedContext, device: str = "cpu") -> bool:
    """Return rank 0's ``flag`` on every rank, so that all ranks take the same branch.

    ``device`` must be a CUDA device under nccl, which only moves CUDA tensors.
    """
    if not context.is_distributed:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
    dist.broadcast(value, src=0)
    return bool(value.item())
