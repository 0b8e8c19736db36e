"""The step loop shared by the model families: progress bar, logging, checkpoints, time limit."""

from __future__ import annotations

import logging
import time
from typing import Callable

from tqdm.auto import tqdm

from .base import TrainConfig

logger = logging.getLogger(__name__)


def run_training_steps(
    name: str,
    train_step: Callable[[], dict[str, float]],
    current_step: Callable[[], int],
    train_config: TrainConfig,
    *,
    save_checkpoint: Callable[[], None] | None,
    progress: bool,
) -> tuple[dict[str, float], bool]:
    """Call ``train_step`` until ``current_step()`` reaches ``train_config.steps``.

    Checkpoints every ``checkpoint_every`` steps through ``save_checkpoint`` (None disables
    them) and stops at a step boundary once ``time_limit_s`` seconds have passed. Returns the
    last step's losses and whether the time limit stopped training before ``steps``.
    """
    start_time = time.monotonic()
    losses: dict[str, float] = {}
    bar = tqdm(total=train_config.steps, initial=current_step(), desc=name, disable=not progress)
    while current_step() < train_config.steps:
        losses = train_step()
        step = current_step()
        bar.update(1)
        bar.set_postfix({key: f"{value:.3f}" for key, value in losses.items()})
        if step % train_config.log_every == 0:
            logger.info("%s step %d/%d %s", name, step, train_config.steps, losses)
        if save_checkpoint is not None and train_config.checkpoint_every and step % train_config.checkpoint_every == 0:
            save_checkpoint()
        if train_config.time_limit_s and time.monotonic() - start_time > train_config.time_limit_s:
            break
    bar.close()
    stopped_early = current_step() < train_config.steps
    if stopped_early:
        logger.warning("%s training stopped at step %d: time_limit_s=%s spent", name, current_step(), train_config.time_limit_s)
    return losses, stopped_early
