"""Scaling section: time and peak memory per example of an LSTM training step against length and batch size."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from hf_rnn.training import PreparedRun
from hf_rnn.training_args import DataArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.measure import synthetic_batch, time_function, train_step_function
from scripts.benchmark.training import new_model
from scripts.common.plain_loop import sync


def peak_memory_bytes(function: Callable[[], None], device: torch.device) -> int:
    """Peak memory allocated by `function` beyond what was allocated before it (GPU: allocator stats, CPU: profiler)"""
    if device.type == "cuda":
        sync(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        function()
        sync(device)
        return torch.cuda.max_memory_allocated(device) - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        function()
    events = sorted(
        (event for event in prof.profiler.kineto_results.events() if event.name() == "[memory]"),
        key=lambda event: event.start_ns(),
    )
    return max(itertools.accumulate((event.nbytes() for event in events), initial=0))


def loglog_slope(xs: list[int], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x): 1 means linear growth."""
    lx, ly = np.log(xs), np.log(ys)
    return float(np.polyfit(lx, ly, 1)[0])


def bench_scaling(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, data_args: DataArguments, device: torch.device
) -> dict[str, dict]:
    """Seconds and peak memory per example of an LSTM training step against length and batch size."""
    torch.manual_seed(bench.seed)
    model = new_model(run, data_args, "lstm").to(device).train()
    vocab = model.config.vocab_size
    repetitions = 2 if bench.quick else 3

    def point(batch_size: int, length: int) -> dict[str, float]:
        step = train_step_function(model, synthetic_batch(vocab, batch_size, length, device), device, bench.precision)
        seconds = time_function(step, device, repetitions)
        memory = peak_memory_bytes(step, device)
        return {
            "batch_size": batch_size,
            "length": length,
            "ms_per_example": 1e3 * seconds / batch_size,
            "us_per_token": 1e6 * seconds / (batch_size * length),
            "peak_mib_per_example": memory / 2**20 / batch_size,
        }

    by_length = [point(plan.length_batch_size, length) for length in plan.lengths]
    long = [row for row in by_length if row["length"] >= 256]
    by_batch = [point(batch_size, plan.batch_length) for batch_size in plan.batch_sizes]
    result = {
        "model": "lstm (recommended settings)",
        "step": "forward + backward",
        "by_length": by_length,
        "by_batch_size": by_batch,
        "time_slope_long": loglog_slope([r["length"] for r in long], [r["ms_per_example"] for r in long]),
        "memory_slope_long": loglog_slope([r["length"] for r in long], [r["peak_mib_per_example"] for r in long]),
    }
    print(f"scaling: time slope {result['time_slope_long']:.2f}, memory slope {result['memory_slope_long']:.2f}")
    return result
