"""How many CPU threads torch may use: one by default, for small recurrent models."""

from __future__ import annotations

import os

import torch


def default_num_threads() -> int:
    """
    Threads for the small recurrent models: 1. Their matrix products are too small to split well, and on a small
    machine extra threads oversubscribe the cores (docs/performance.md). `HF_RNN_NUM_THREADS` overrides it.
    """
    return int(os.environ.get("HF_RNN_NUM_THREADS", "1"))


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads to `num_threads` (or the default) and return the number set."""
    threads = num_threads if num_threads is not None else default_num_threads()
    if threads < 1:
        raise ValueError(f"the number of threads must be at least 1, got {threads}.")
    torch.set_num_threads(threads)
    return threads
