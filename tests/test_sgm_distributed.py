"""Two CPU processes under torchrun (gloo) train and sample like one process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from lartpcbench.models.base import TrainConfig
from lartpcbench.models.checkpoint import load_checkpoint
from lartpcbench.models.distributed import DistributedContext, local_device, shard_slice
from lartpcbench.models.sgm.config import sgm_config_from_dict
from lartpcbench.models.sgm.generator import SGMGenerator

from conftest import draw_line_images

TINY = {
    "network": {"base_channels": 8, "channel_multipliers": [1, 2], "num_res_blocks": 1, "attention_resolutions": [8],
                "dropout": 0.0, "patch_size": 4},
    "sampler": {"name": "euler_maruyama", "steps": 6},
    "warmup_steps": 2,
    "ema_decay": 0.9,
}
TRAIN = TrainConfig(steps=3, batch_size=4, learning_rate=1e-3, seed=0, log_every=1)

WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    from lartpcbench.models.base import TrainConfig
    from lartpcbench.models.sgm.config import sgm_config_from_dict
    from lartpcbench.models.sgm.generator import SGMGenerator
    sys.path.insert(0, sys.argv[2])
    from conftest import draw_line_images
    from test_sgm_distributed import TINY, TRAIN

    output = sys.argv[1]
    generator = SGMGenerator(sgm_config_from_dict(TINY))
    generator.fit(draw_line_images(12, seed=3), TRAIN, checkpoint_dir=output + "/run", progress=False)
    samples = generator.sample(5, seed=9, batch_size=2)
    if dist.get_rank() == 0:
        np.save(output + "/samples.npy", samples)
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_shard_slice_covers_all_items():
    parts = [shard_slice(7, DistributedContext(rank, 3)) for rank in range(3)]
    assert [(part.start, part.stop) for part in parts] == [(0, 3), (3, 5), (5, 7)]


def test_local_device_per_rank(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert local_device("cuda") == "cuda"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert local_device("cuda") == "cuda:1"
    assert local_device("cuda:0") == "cuda:0"
    assert local_device("cpu") == "cpu"


@pytest.mark.timeout(180)
def test_two_process_run_matches_single_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    environment = {key: value for key, value in os.environ.items() if key not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    environment["OMP_NUM_THREADS"] = "1"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "1",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(tmp_path), tests_dir,
    ]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=170)
    assert completed.returncode == 0, completed.stderr[-3000:]

    # The same run in this process
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = SGMGenerator(sgm_config_from_dict(TINY))
        single.fit(draw_line_images(12, seed=3), TRAIN, progress=False)
        single_samples = single.sample(5, seed=9, batch_size=2)
    finally:
        torch.set_num_threads(threads)

    state, metadata = load_checkpoint(tmp_path / "run")
    assert metadata["step"] == 3
    for key, value in single.network.state_dict().items():
        assert torch.allclose(value, state["network"][key], atol=1e-6), key
    distributed_samples = np.load(tmp_path / "samples.npy")
    assert distributed_samples.shape == (5, 64, 64)
    assert np.allclose(distributed_samples, single_samples, atol=1e-2)
