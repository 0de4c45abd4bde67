"""Timing helpers shared by the benchmark's sections, and the synthetic training step they time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from scripts.common.plain_loop import autocast, sync


def median(values: list[float]) -> float:
    """The median (robust to the odd slow repetition of a shared machine)."""
    return statistics.median(values)


def time_function(function: Callable[[], None], device: torch.device, repetitions: int) -> float:
    """Median seconds of `function` after one warm-up call."""
    function()
    seconds = []
    for _ in range(repetitions):
        sync(device)
        start = time.perf_counter()
        function()
        sync(device)
        seconds.append(time.perf_counter() - start)
    return median(seconds)


def synthetic_batch(vocab_size: int, batch_size: int, length: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Random token ids (every row `length` real tokens) and labels."""
    generator = torch.Generator().manual_seed(batch_size * 100003 + length)
    return {
        "input_ids": torch.randint(5, vocab_size, (batch_size, length), generator=generator).to(device),
        "attention_mask": torch.ones(batch_size, length, dtype=torch.long, device=device),
        "labels": torch.randint(0, 6, (batch_size,), generator=generator).to(device),
    }


def train_step_function(
    model: torch.nn.Module, batch: dict, device: torch.device, precision: str
) -> Callable[[], None]:
    """A forward and backward pass of `model` on `batch` (gradients cleared)."""

    def step() -> None:
        with autocast(device, precision):
            loss = model(**batch).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    return step
