"""The benchmark's options (`BenchmarkArguments`) and how much each section measures (`Plan`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hf_rnn.data.trec import default_train_file
from scripts.common.plain_loop import PRECISIONS

#: The sections, in the order they run and are reported.
SECTION_NAMES = ("training", "inference", "scaling", "profile", "threads", "serving")


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
    sections: str = field(
        default=",".join(SECTION_NAMES),
        metadata={"help": f"Comma-separated sections to run (any of {', '.join(SECTION_NAMES)})."},
    )
    serving_model: str | None = field(
        default=None, metadata={"help": "Serving section: a trained hf_rnn model folder (the student)."}
    )
    serving_teacher: str | None = field(
        default=None, metadata={"help": "Serving section: a fine-tuned transformers classifier folder (the teacher)."}
    )

    def section_names(self) -> list[str]:
        """The sections asked for, in the benchmark's order; an unknown name is an error."""
        asked = [name.strip() for name in self.sections.split(",") if name.strip()]
        unknown = sorted(set(asked) - set(SECTION_NAMES))
        if unknown or not asked:
            raise SystemExit(f"--sections: unknown or no section {unknown}; choose from {', '.join(SECTION_NAMES)}.")
        for option in ("serving_model", "serving_teacher"):  # fail now, not after the other sections
            folder = getattr(self, option)
            if "serving" in asked and folder and not os.path.isdir(folder):
                raise SystemExit(f"--{option}: no such model folder: {folder}")
        return [name for name in SECTION_NAMES if name in asked]


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
    serving_repeats: int = 5

    @classmethod
    def make(cls, quick: bool, architectures: list[str]) -> Plan:
        """The quick plan (under 2 minutes on 2 cores) or the full one."""
        if quick:
            return cls(3, ["lstm"], [1, 32, 256], 512, 100, 3, [8, 64, 512, 4096], 4, [1, 32, 256], 32, 20, 2, 64, 3)
        return cls(
            7, architectures, [1, 32, 256], 1086, 300, 5, [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], 8,
            [1, 4, 16, 64, 256], 32, 100, 10, 512,
        )  # fmt: skip
