"""Threads section: 1 thread against all cores, for LSTM training steps, inference and a long-sequence step."""

from __future__ import annotations

import itertools
import json
import os
import time

import torch

from hf_rnn.threads import configure_threads
from hf_rnn.training import PreparedRun
from hf_rnn.training_args import DataArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.measure import median, synthetic_batch, train_step_function
from scripts.benchmark.training import lstm_plain_loop
from scripts.common.plain_loop import sync


def bench_threads(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, data_args: DataArguments, device: torch.device
) -> dict[str, object]:
    """1 thread against all cores: LSTM training steps, inference at batch size 256 and a long-sequence step."""
    cores = os.cpu_count() or 1
    plain = lstm_plain_loop(bench, run, data_args, device)
    batches = list(itertools.islice(plain.batches(), plan.thread_steps))
    texts = list(run.data["validation"]["text"][:256])
    encoded = run.tokenizer(texts, padding=True, return_tensors="pt").to(device)
    long_step = train_step_function(
        plain.model, synthetic_batch(plain.model.config.vocab_size, 8, plan.thread_length, device), device,
        bench.precision,
    )  # fmt: skip

    def training() -> None:
        for batch in batches:
            plain.step(batch)

    def inference() -> None:
        with torch.inference_mode():
            plain.model(**encoded)

    workloads = {
        f"training_{plan.thread_steps}_steps_bs32": (training, len(batches) * 32),
        "inference_bs256": (inference, len(texts)),
        f"long_step_bs8_len{plan.thread_length}": (long_step, 8),
    }
    seconds = {(name, threads): [] for name in workloads for threads in (1, cores)}
    # The two settings take turns (the 1-thread runs are warm from the sections before). Oversubscribed threads can
    # be a hundred times slower: after the first round, a round starts only within the time budget.
    deadline = time.perf_counter() + (10 if bench.quick else 45)
    for round_index in range(3):
        if round_index and time.perf_counter() > deadline:
            break
        for threads in (1, cores):
            torch.set_num_threads(threads)
            for name, (function, _) in workloads.items():
                sync(device)
                start = time.perf_counter()
                function()
                sync(device)
                seconds[name, threads].append(time.perf_counter() - start)
    configure_threads(bench.num_threads)
    rows = {
        name: {
            "examples_per_s_1_thread": count / median(seconds[name, 1]),
            f"examples_per_s_{cores}_threads": count / median(seconds[name, cores]),
            "speedup_all_cores": median(seconds[name, 1]) / median(seconds[name, cores]),
        }
        for name, (_, count) in workloads.items()
    }
    print(f"threads: {json.dumps({name: round(row['speedup_all_cores'], 2) for name, row in rows.items()})}")
    return {"cores": cores, "workloads": rows}
