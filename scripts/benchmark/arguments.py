"""The benchmark's options (`BenchmarkArguments`) and how much each section measures (`Plan`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hf_rnn.data.trec import default_train_file
from scripts.common.plain_loop import PRECISIONS


@dataclass
class BenchmarkArguments:
    """Options of the benchmark."""

    quick: bool = field(default=False, metadata={"help": "Fewer epochs, repetitions and points (under 2 min on CPU)."})
    device: str = field(
        default="auto",
        metadata={"help": "cpu, cuda, or auto (cuda if available).", "choices": ["auto", "cpu", "cuda"]},
    )
    precision: str = field(
        default="fp32",
        metadata={"help": "Mixed precision (Trainer bf16/fp16, autocast).", "choices": list(PRECISIONS)},
    )
    train_file: str = field(
        default_factory=lambda: os.fspath(default_train_file()),
        metadata={"help": "TREC label file (default: $HF_RNN_TREC_TRAIN, else ../shared/data/trec/train_5500.label)."},
    )
    architectures: str = field(default="rnn,gru,lstm", metadata={"help": "Comma-separated model types."})
    num_threads: int | None = field(default=None, metadata={"help": "Torch threads (default: the package default)."})
    seed: int = field(default=42, metadata={"help": "Seed of the models, batches and synthetic inputs."})
    output_dir: str = field(default="results", metadata={"help": "Where benchmark.json and benchmark.md go."})
    note: str = field(default="", metadata={"help": "A remark printed under the machine (e.g. other load on it)."})


@dataclass
class Plan:
    """How much each section measures."""

    epochs: int
    inference_architectures: list[str]
    inference_batch_sizes: list[int]
    inference_questions: int
    latency_questions: int
    repetitions: int
    lengths: list[int]
    length_batch_size: int
    batch_sizes: list[int]
    batch_length: int
    profile_steps: int
    thread_steps: int
    thread_length: int

    @classmethod
    def make(cls, quick: bool, architectures: list[str]) -> Plan:
        """The quick plan (under 2 minutes on 2 cores) or the full one."""
        if quick:
            return cls(3, ["lstm"], [1, 32, 256], 512, 100, 3, [8, 64, 512, 4096], 4, [1, 32, 256], 32, 20, 2, 64)
        return cls(
            7, architectures, [1, 32, 256], 1086, 300, 5, [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], 8,
            [1, 4, 16, 64, 256], 32, 100, 10, 512,
        )  # fmt: skip
