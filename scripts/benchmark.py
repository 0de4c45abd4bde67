"""Benchmark hf_rnn against a plain PyTorch loop: training, inference, scaling, profile and threads.

    python scripts/benchmark.py --quick                          # CPU, under 2 minutes on 2 cores
    python scripts/benchmark.py                                  # CPU, more epochs, repetitions and points
    python scripts/benchmark.py --device cuda --precision bf16   # GPU (--precision fp16 where bf16 is missing)

writes `results/benchmark.json` and `results/benchmark.md` (`--output_dir`). Every comparison is measured in one run,
the two sides taking turns (epoch by epoch, or repetition by repetition), and reported as a median, so that a load
shared by both sides affects both alike.

- training: examples per second of each architecture through `hf_rnn.training.build_trainer` (`RNNTrainer`, the
  package's default arguments) and through a hand-written loop with the same model class and initial weights, the same
  optimizer (`torch.optim.AdamW` with the Trainer's `optim`, learning rate, linear schedule and gradient clipping), the
  same length-grouped padded batches (same sampler and collator) and the same threads. A Trainer epoch is timed from
  `on_epoch_begin` to `on_epoch_end`; its per-epoch validation and checkpoint come after `on_epoch_end` and are
  excluded from both sides (the hand-written loop has none), and reported on their own.
- inference: questions per second at several batch sizes through the raw model (tokenised tensors prepared
  beforehand), the tokenizer plus the model, `pipeline("text-classification")` given `batch_size`, and
  `hf_rnn.inference.predict`; latency p50 and p99 of one question.
- scaling: time and peak memory per example of a training step (forward, backward) against sequence length and batch
  size.
- profile: where a training step's time goes, and the LSTM layer against the time of its own matrix products.
- threads: 1 thread against all cores, for training steps, inference and a long-sequence step.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch.profiler import ProfilerActivity, profile, record_function
from transformers import (
    DataCollatorWithPadding,
    HfArgumentParser,
    PreTrainedTokenizerBase,
    TrainerCallback,
    get_scheduler,
    pipeline,
)
from transformers import logging as transformers_logging
from transformers.trainer_callback import PrinterCallback

from hf_rnn.inference import predict
from hf_rnn.runtime import configure_threads, default_num_threads
from hf_rnn.trainer import EpochSeededLengthGroupedSampler
from hf_rnn.training import (
    DataArguments,
    ModelArguments,
    PreparedRun,
    RNNTrainingArguments,
    build_model,
    build_trainer,
    prepare_run,
)

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class BenchmarkArguments:
    """Options of the benchmark."""

    quick: bool = field(default=False, metadata={"help": "Fewer epochs, repetitions and points (under 2 min on CPU)."})
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto (cuda if available).", "choices": ["auto", "cpu", "cuda"]})  # fmt: skip
    precision: str = field(
        default="fp32",
        metadata={"help": "Mixed precision (Trainer bf16/fp16, autocast).", "choices": list(PRECISIONS)},
    )
    train_file: str = field(default="../shared/data/trec/train_5500.label", metadata={"help": "TREC label file."})
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


def median(values: list[float]) -> float:
    """The median (robust to the odd slow repetition of a shared machine)."""
    return statistics.median(values)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock times are complete."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The mixed-precision context the Trainer uses for `precision` (none for fp32)."""
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


# ----------------------------------------------------------------------------------------------------------- training


class PlainLoop:
    """
    The hand-written training loop: what a user writes with the same model class, optimizer and batches and no Trainer.
    """

    def __init__(
        self, run: PreparedRun, model_args: ModelArguments, args: RNNTrainingArguments, device: torch.device,
        precision: str,
    ):  # fmt: skip
        torch.manual_seed(args.seed)
        self.model = build_model(model_args, run.tokenizer, run.label_names).to(device)
        self.params = [param for param in self.model.parameters() if param.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params,
            lr=args.learning_rate,
            betas=(args.adam_beta1, args.adam_beta2),
            eps=args.adam_epsilon,
            weight_decay=args.weight_decay,
            fused=args.optim == "adamw_torch_fused",
        )
        dataset = run.encoded["train"]
        self.sampler = EpochSeededLengthGroupedSampler(
            args.per_device_train_batch_size, [len(ids) for ids in dataset["input_ids"]], args.seed
        )
        self.loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=args.per_device_train_batch_size,
            sampler=self.sampler,
            collate_fn=DataCollatorWithPadding(run.tokenizer),
            pin_memory=args.dataloader_pin_memory,
        )
        self.scheduler = get_scheduler(
            args.lr_scheduler_type, self.optimizer, 0, math.ceil(args.num_train_epochs) * len(self.loader)
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.device, self.precision, self.max_grad_norm = device, precision, args.max_grad_norm
        self.epoch = 0

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        """One optimizer step on one batch."""
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        with record_function("forward"), autocast(self.device, self.precision):
            loss = self.model(**batch).loss
        with record_function("backward"):
            self.scaler.scale(loss).backward()
        with record_function("clip_grad_norm"):
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        with record_function("optimizer"):
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)

    def batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of the next epoch."""
        self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        with record_function("data"):
            iterator = iter(self.loader)
        while True:
            with record_function("data"):
                batch = next(iterator, None)
            if batch is None:
                return
            yield batch

    def run_epoch(self) -> float:
        """Train one epoch; return its seconds."""
        self.model.train()
        sync(self.device)
        start = time.perf_counter()
        for batch in self.batches():
            self.step(batch)
        sync(self.device)
        return time.perf_counter() - start


class InterleavedEpochs(TrainerCallback):
    """
    Times each Trainer epoch (on_epoch_begin to on_epoch_end) and runs one epoch of the plain loop beside it: after it
    in even epochs, before it in odd ones, so that each side equally often comes first after the Trainer's work
    between epochs (logging, validation, checkpoint), which is timed too.
    """

    def __init__(self, plain: PlainLoop, device: torch.device):
        self.plain, self.device = plain, device
        self.trainer_seconds: list[float] = []
        self.plain_seconds: list[float] = []
        self.between_seconds: list[float] = []
        self._start = self._resumed = None

    def on_epoch_begin(self, args, state, control, **kwargs):
        sync(self.device)
        if self._resumed is not None:
            self.between_seconds.append(time.perf_counter() - self._resumed)
        if len(self.trainer_seconds) % 2:
            self.plain_seconds.append(self.plain.run_epoch())
        self._start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        sync(self.device)
        self.trainer_seconds.append(time.perf_counter() - self._start)
        if len(self.trainer_seconds) % 2:
            self.plain_seconds.append(self.plain.run_epoch())
        self._resumed = time.perf_counter()


def training_arguments(
    bench: BenchmarkArguments, device: torch.device, output_dir: str, epochs: int, **overrides
) -> RNNTrainingArguments:
    """The package's default training arguments, with the benchmark's epochs, device, precision and seed."""
    return RNNTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=epochs,
        seed=bench.seed,
        use_cpu=device.type == "cpu",
        bf16=bench.precision == "bf16",
        fp16=bench.precision == "fp16",
        num_threads=bench.num_threads,
        early_stopping_patience=0,
        save_total_limit=1,
        disable_tqdm=True,
        report_to="none",
        **overrides,
    )


def bench_training(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, device: torch.device, scratch: str
) -> dict[str, dict]:
    """Trainer path against the plain loop, per architecture, epochs interleaved."""
    results = {}
    examples = len(run.encoded["train"])
    for arch in bench.architectures.split(","):
        model_args = ModelArguments(model_type=arch)
        args = training_arguments(bench, device, os.path.join(scratch, arch), plan.epochs)
        timer = InterleavedEpochs(PlainLoop(run, model_args, args, device, bench.precision), device)
        trainer = build_trainer(run, args, run.model_init(model_args))
        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(timer)
        trainer.train()
        trainer_rate = examples / median(timer.trainer_seconds)
        plain_rate = examples / median(timer.plain_seconds)
        results[arch] = {
            "trainer_examples_per_s": trainer_rate,
            "plain_examples_per_s": plain_rate,
            "ratio": trainer_rate / plain_rate,
            "trainer_epoch_seconds": timer.trainer_seconds,
            "plain_epoch_seconds": timer.plain_seconds,
            "trainer_between_epochs_seconds": timer.between_seconds,
            "optim": getattr(args.optim, "value", args.optim),
        }
        print(
            f"training {arch}: trainer {trainer_rate:.0f}/s, plain {plain_rate:.0f}/s, ratio {results[arch]['ratio']:.3f}"
        )
    return results


# ---------------------------------------------------------------------------------------------------------- inference


class InferencePaths:
    """The ways to classify questions with one model: raw model, tokenizer + model, pipeline, `hf_rnn` predict."""

    def __init__(self, model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, device: torch.device):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)

    def encode(self, chunk: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask of `chunk`, padded to its longest question, on the device."""
        return self.tokenizer(chunk, padding=True, truncation=True, return_tensors="pt").to(self.device)

    def raw(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities of tokenised questions."""
        return self.model(**encoded).logits.softmax(-1).cpu()

    def tokenizer_and_model(self, chunk: list[str]) -> list[str]:
        """Label names of questions, tokenised here."""
        return [self.model.config.id2label[index] for index in self.raw(self.encode(chunk)).argmax(-1).tolist()]

    def batched(self, texts: list[str], batch_size: int) -> dict[str, Callable[[], object]]:
        """Each path classifying all `texts`, `batch_size` at a time (the raw model's inputs tokenised beforehand)."""
        chunks = [texts[start : start + batch_size] for start in range(0, len(texts), batch_size)]
        encoded = [self.encode(chunk) for chunk in chunks]
        return {
            "raw_model": lambda: [self.raw(batch) for batch in encoded],
            "tokenizer_model": lambda: [self.tokenizer_and_model(chunk) for chunk in chunks],
            "pipeline": lambda: self.classifier(texts, batch_size=batch_size),
            "hf_rnn_predict": lambda: predict(self.model, self.tokenizer, texts, batch_size=batch_size),
        }

    def single(self, text: str) -> dict[str, Callable[[], object]]:
        """Each path classifying one question."""
        encoded = self.encode([text])
        return {
            "raw_model": lambda: self.raw(encoded),
            "tokenizer_model": lambda: self.tokenizer_and_model([text]),
            "pipeline": lambda: self.classifier(text),
            "hf_rnn_predict": lambda: predict(self.model, self.tokenizer, [text], batch_size=1),
        }


def measure_inference(paths: InferencePaths, texts: list[str], plan: Plan, device: torch.device) -> dict[str, dict]:
    """Questions per second of each path at each batch size (paths taking turns), and latency of one question."""
    result: dict[str, dict] = {"throughput": {}, "latency_ms": {}}
    for batch_size in plan.inference_batch_sizes:
        timed = paths.batched(texts, batch_size)
        for function in timed.values():  # warm-up
            function()
        seconds = {name: [] for name in timed}
        for _ in range(plan.repetitions):
            for name, function in timed.items():
                sync(device)
                start = time.perf_counter()
                function()
                sync(device)
                seconds[name].append(time.perf_counter() - start)
        result["throughput"][batch_size] = {name: len(texts) / median(values) for name, values in seconds.items()}
    samples: dict[str, list[float]] = {}
    for text in texts[: plan.latency_questions]:  # the paths take turns question by question
        for name, function in paths.single(text).items():
            start = time.perf_counter()
            function()
            samples.setdefault(name, []).append(time.perf_counter() - start)
    for name, values in samples.items():
        result["latency_ms"][name] = {"p50": 1e3 * float(np.percentile(values, 50)),
                                      "p99": 1e3 * float(np.percentile(values, 99))}  # fmt: skip
    largest = result["throughput"][max(plan.inference_batch_sizes)]
    result["pipeline_ratio_largest_batch"] = largest["pipeline"] / largest["tokenizer_model"]
    return result


def bench_inference(bench: BenchmarkArguments, plan: Plan, run: PreparedRun, device: torch.device) -> dict[str, dict]:
    """Inference throughput and latency of each architecture (`plan.inference_architectures`)."""
    texts = [text for split in ("validation", "test", "train") for text in run.data[split]["text"]]
    texts = texts[: plan.inference_questions]
    results = {}
    for arch in plan.inference_architectures:
        torch.manual_seed(bench.seed)
        model = build_model(ModelArguments(model_type=arch), run.tokenizer, run.label_names).to(device).eval()
        with torch.inference_mode(), autocast(device, bench.precision):
            results[arch] = measure_inference(InferencePaths(model, run.tokenizer, device), texts, plan, device)
        print(f"inference {arch}: {json.dumps(results[arch]['throughput'])}")
    return results


# ------------------------------------------------------------------------------------------------------------ scaling


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


def peak_memory_bytes(function: Callable[[], None], device: torch.device) -> int:
    """Peak memory allocated by `function` beyond what was allocated before it (GPU: allocator stats; CPU: profiler)."""
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


def loglog_slope(xs: list[int], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x): 1 means linear growth."""
    lx, ly = np.log(xs), np.log(ys)
    return float(np.polyfit(lx, ly, 1)[0])


def bench_scaling(bench: BenchmarkArguments, plan: Plan, run: PreparedRun, device: torch.device) -> dict[str, dict]:
    """Seconds and peak memory per example of an LSTM training step against length and batch size."""
    torch.manual_seed(bench.seed)
    model = build_model(ModelArguments(model_type="lstm"), run.tokenizer, run.label_names).to(device).train()
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


# ------------------------------------------------------------------------------------------------------------ profile


def lstm_matmul_shapes(batch_sizes: list[int], input_size: int, hidden: int) -> list[tuple[int, int, int]]:
    """
    The matrix products `(m, k, n)` of one LSTM layer's forward and backward pass over steps of `batch_sizes` rows
    (a packed sequence's `batch_sizes`): the input projection of all tokens at once, one recurrent product per step,
    and their gradients.
    """
    gates, tokens = 4 * hidden, sum(batch_sizes)
    return [
        (tokens, input_size, gates),  # forward: x W_ih^T, all tokens
        *((rows, hidden, gates) for rows in batch_sizes),  # forward: h_{t-1} W_hh^T, per step
        *((rows, gates, hidden) for rows in batch_sizes),  # backward: dG_t W_hh, per step
        (tokens, gates, input_size),  # backward: dG W_ih (input gradient)
        (gates, tokens, input_size),  # backward: dG^T x (W_ih gradient)
        (gates, tokens, hidden),  # backward: dG^T h (W_hh gradient)
    ]


def layer_against_matmuls(lengths: list[int], device: torch.device, precision: str) -> dict[str, object]:
    """
    Time one LSTM layer (forward and backward) over rows of `lengths` tokens, packed if they differ, against the same
    matrix products run alone; the two take turns.
    """
    hidden = embedding = 128
    lstm = torch.nn.LSTM(embedding, hidden, batch_first=True).to(device)
    inputs = torch.randn(len(lengths), max(lengths), embedding, device=device, requires_grad=True)
    packed = len(set(lengths)) > 1
    batch_sizes = [sum(length > step for length in lengths) for step in range(max(lengths))]

    def layer() -> None:
        with autocast(device, precision):
            if packed:
                source = pack_padded_sequence(inputs, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
                outputs = lstm(source)[0].data
            else:
                outputs = lstm(inputs)[0]
        outputs.float().sum().backward()

    shapes = lstm_matmul_shapes(batch_sizes, embedding, hidden)
    operands = [(torch.randn(m, k, device=device), torch.randn(k, n, device=device)) for m, k, n in shapes]

    def matmuls() -> None:
        with autocast(device, precision):
            for left, right in operands:
                torch.mm(left, right)

    flops = sum(2 * m * k * n for m, k, n in shapes)
    layer_seconds, matmul_seconds = [], []
    for _ in range(5):
        layer_seconds.append(time_function(layer, device, 3))
        matmul_seconds.append(time_function(matmuls, device, 3))
    layer_time, matmul_time = median(layer_seconds), median(matmul_seconds)
    return {
        "batch_size": len(lengths), "lengths": f"{min(lengths)}-{max(lengths)}" if packed else str(lengths[0]),
        "packed": packed, "gflop": flops / 1e9, "layer_ms": 1e3 * layer_time, "matmul_ms": 1e3 * matmul_time,
        "layer_gflops": flops / layer_time / 1e9, "matmul_gflops": flops / matmul_time / 1e9,
        "fraction_of_matmul_throughput": matmul_time / layer_time,
    }  # fmt: skip


def run_steps(optimizer: torch.optim.Optimizer, steps: int) -> None:
    """`steps` optimizer steps."""
    for _ in range(steps):
        optimizer.step()


def optimizer_step_ms(model: torch.nn.Module, device: torch.device, steps: int = 20) -> dict[str, float]:
    """Milliseconds per optimizer step of `model` (its gradients as they are) for the AdamW/Adam implementations."""
    params = [param for param in model.parameters() if param.requires_grad]
    for param in params:
        param.grad = torch.randn_like(param)
    variants = {
        "AdamW fused (optim=adamw_torch_fused)": lambda: torch.optim.AdamW(params, lr=1e-4, fused=True),
        "AdamW foreach": lambda: torch.optim.AdamW(params, lr=1e-4, foreach=True),
        "AdamW for-loop": lambda: torch.optim.AdamW(params, lr=1e-4, foreach=False),
        "Adam for-loop (as in results/manual_rnn.md)": lambda: torch.optim.Adam(params, lr=1e-4, foreach=False),
    }
    optimizers = {name: make() for name, make in variants.items()}
    seconds = {name: [] for name in variants}
    for _ in range(3):  # the implementations take turns
        for name, optimizer in optimizers.items():
            seconds[name].append(time_function(functools.partial(run_steps, optimizer, steps), device, 1) / steps)
    model.zero_grad(set_to_none=True)
    return {name: 1e3 * median(values) for name, values in seconds.items()}


def lstm_plain_loop(bench: BenchmarkArguments, run: PreparedRun, device: torch.device) -> PlainLoop:
    """The plain loop of an LSTM with the recommended settings, in training mode (profile and threads sections)."""
    with tempfile.TemporaryDirectory() as scratch:
        args = training_arguments(bench, device, scratch, 1)
    plain = PlainLoop(run, ModelArguments(model_type="lstm"), args, device, bench.precision)
    plain.model.train()
    return plain


def bench_profile(bench: BenchmarkArguments, plan: Plan, run: PreparedRun, device: torch.device) -> dict[str, object]:
    """Phases and top operators of the plain loop's LSTM training steps; the LSTM layer against its matrix products."""
    plain = lstm_plain_loop(bench, run, device)
    for batch in itertools.islice(plain.batches(), 5):  # warm-up
        plain.step(batch)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for batch in itertools.islice(plain.batches(), plan.profile_steps):
            plain.step(batch)
        sync(device)
    averages = prof.key_averages()
    self_time = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    phases = {event.key: event.cpu_time_total for event in averages if event.key in
              ("data", "forward", "backward", "clip_grad_norm", "optimizer")}  # fmt: skip
    total = sum(phases.values())
    top = sorted(averages, key=lambda event: getattr(event, self_time), reverse=True)[:12]
    self_total = sum(getattr(event, self_time) for event in averages)

    # The recurrent layer alone against the matrix products it performs: a typical batch (equal lengths, and mixed
    # lengths as packing gives them) and a long one.
    shapes = ([12] * 32, [12] * 16 + [11] * 8 + [10] * 8, [256] * 32)
    layer_vs_matmul = [layer_against_matmuls(lengths, device, bench.precision) for lengths in shapes]
    optimizer_ms = optimizer_step_ms(plain.model, device)
    square = torch.randn(1024, 1024, device=device)
    peak_seconds = time_function(lambda: torch.mm(square, square), device, 5)
    result = {
        "steps": plan.profile_steps,
        "self_time": self_time,
        "phase_share": {name: value / total for name, value in phases.items()},
        "top_ops": [
            {"op": event.key, "self_share": getattr(event, self_time) / self_total, "calls": event.count}
            for event in top
        ],
        "lstm_layer_vs_matmul": layer_vs_matmul,
        "square_matmul_1024_gflops": 2 * 1024**3 / peak_seconds / 1e9,
        "optimizer_step_ms": optimizer_ms,
    }
    print(f"profile: phases {json.dumps({k: round(v, 3) for k, v in result['phase_share'].items()})}")
    return result


# ------------------------------------------------------------------------------------------------------------ threads


def bench_threads(bench: BenchmarkArguments, plan: Plan, run: PreparedRun, device: torch.device) -> dict[str, object]:
    """1 thread against all cores: LSTM training steps, inference at batch size 256 and a long-sequence step."""
    cores = os.cpu_count() or 1
    plain = lstm_plain_loop(bench, run, device)
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


# ------------------------------------------------------------------------------------------------------------- report


def machine(device: torch.device, threads: int) -> dict[str, object]:
    """The machine, device and library versions."""
    import accelerate
    import datasets
    import tokenizers
    import transformers

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "torch_threads": threads,
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "tokenizers": tokenizers.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def markdown(report: dict) -> str:
    """The report as Markdown."""
    m, train, infer = report["machine"], report["training"], report["inference"]
    lines = [
        "# hf_rnn benchmark",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {m['processor']}, {m['cpu_count']} CPUs, device {m['device']}"
        + (f" ({m['gpu']}, cuDNN {m['cudnn']})" if "gpu" in m else "")
        + f", torch threads {m['torch_threads']}, precision {report['precision']}; load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}. Python {m['python']}, torch {m['torch']}, "
        f"transformers {m['transformers']}, accelerate {m['accelerate']}, datasets {m['datasets']}, "
        f"tokenizers {m['tokenizers']}.",
        "",
        *([f"Note: {report['note']}", ""] if report["note"] else []),
        *(
            []
            if "gpu" in m
            else [
                (
                    "GPU: not measured in this run (no GPU on this machine); on a GPU machine run "
                    "`python scripts/benchmark.py --device cuda --precision bf16`."
                ),
                "",
            ]
        ),
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for arch, row in train.items():
        lines.append(f"| training {arch}: Trainer / plain loop >= 0.9 | {row['ratio']:.3f}x | "
                     f"{'met' if row['ratio'] >= 0.9 else 'not met'} |")  # fmt: skip
    for arch, row in infer.items():
        ratio = row["pipeline_ratio_largest_batch"]
        lines.append(f"| inference {arch}: pipeline / tokenizer+model at batch size "
                     f"{max(map(int, row['throughput']))} >= 0.8 | {ratio:.3f}x | {'met' if ratio >= 0.8 else 'not met'} |")  # fmt: skip
    scaling = report["scaling"]
    slope = scaling["time_slope_long"]
    lines.append(f"| scaling: time per example grows linearly with length (log-log slope 0.8-1.2, length >= 256) | "
                 f"{slope:.2f} | {'met' if 0.8 <= slope <= 1.2 else 'not met'} |")  # fmt: skip
    lines += [
        "",
        f"## Training ({report['training_examples']} examples per epoch, median of {report['epochs']} epochs)",
        "",
        (
            "Both sides: the same model class and initial weights, `torch.optim.AdamW` as the Trainer builds it "
            f"(`optim={next(iter(train.values()))['optim']}`), learning rate, linear schedule and gradient clipping, the "
            "same length-grouped padded batches (sampler and collator) and threads. Epochs alternate (Trainer, plain, "
            "plain, Trainer, Trainer, ...: each side as often first after the Trainer's validation). Per-epoch validation and checkpointing are excluded from both; the Trainer's time between "
            "epochs (logging, validation of the validation split, checkpoint) is listed on its own."
        ),
        "",
        (
            "| architecture | Trainer examples/s | plain loop examples/s | ratio | Trainer s/epoch | plain s/epoch | "
            "Trainer validation + checkpoint s/epoch |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for arch, row in train.items():
        between = row["trainer_between_epochs_seconds"]
        lines.append(
            f"| {arch} | {row['trainer_examples_per_s']:.0f} | {row['plain_examples_per_s']:.0f} | {row['ratio']:.2f} "
            f"| {median(row['trainer_epoch_seconds']):.2f} | {median(row['plain_epoch_seconds']):.2f} | "
            + (f"{median(between):.2f} |" if between else "- |")
        )
    lines += ["", "## Inference (questions per second)", ""]
    for arch, row in infer.items():
        lines += [f"### {arch}", "", ("| batch size | raw model | tokenizer + model | pipeline | "
                  "`hf_rnn.inference.predict` | pipeline / tokenizer+model | pipeline cost beyond tokenizer+model, us per question |"),
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for batch_size, rates in row["throughput"].items():
            extra = 1e6 / rates["pipeline"] - 1e6 / rates["tokenizer_model"]
            lines.append(
                f"| {batch_size} | {rates['raw_model']:.0f} | {rates['tokenizer_model']:.0f} | {rates['pipeline']:.0f} "
                f"| {rates['hf_rnn_predict']:.0f} | {rates['pipeline'] / rates['tokenizer_model']:.2f} | {extra:.0f} |"
            )
        lines += ["", "Latency of one question (ms): " + ", ".join(
            f"{name} p50 {value['p50']:.2f} / p99 {value['p99']:.2f}" for name, value in row["latency_ms"].items()
        ), ""]  # fmt: skip
    lines += [
        f"## Scaling ({scaling['model']}, {scaling['step']}, every token real)",
        "",
        "| batch size | length | ms per example | us per token | peak MiB per example |",
        "|---|---|---|---|---|",
    ]
    for row in scaling["by_length"] + scaling["by_batch_size"]:
        lines.append(
            f"| {row['batch_size']} | {row['length']} | {row['ms_per_example']:.3f} | {row['us_per_token']:.2f} | "
            f"{row['peak_mib_per_example']:.3f} |"
        )
    lines += [
        "",
        (
            f"Log-log slope against length (lengths >= 256): time {scaling['time_slope_long']:.2f}, peak memory "
            f"{scaling['memory_slope_long']:.2f} (1 = linear)."
        ),
        "",
    ]
    prof = report["profile"]
    lines += [
        f"## Profile (LSTM, {prof['steps']} training steps of the plain loop, batch size 32)",
        "",
        "Share of step time by phase: "
        + ", ".join(f"{name} {100 * share:.0f}%" for name, share in prof["phase_share"].items()),
        "",
        f"| operator | share of self time (`{prof['self_time']}`) | calls |",
        "|---|---|---|",
    ]
    lines += [f"| `{op['op']}` | {100 * op['self_share']:.1f}% | {op['calls']} |" for op in prof["top_ops"]]
    lines += ["", "Optimizer step of the LSTM classifier (all parameters, dense gradients):", "",
              "| optimizer | ms per step |", "|---|---|"]  # fmt: skip
    lines += [f"| {name} | {value:.2f} |" for name, value in prof["optimizer_step_ms"].items()]
    lines += [
        "",
        (
            "LSTM layer (forward + backward) against the same matrix products run alone "
            f"(square 1024 matmul on this machine: {prof['square_matmul_1024_gflops']:.1f} GFLOP/s):"
        ),
        "",
        (
            "| batch | lengths | packed | GFLOP | layer ms | matmuls ms | layer GFLOP/s | matmul GFLOP/s | "
            "layer at % of matmul throughput |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in prof["lstm_layer_vs_matmul"]:
        lines.append(
            f"| {row['batch_size']} | {row['lengths']} | {row['packed']} | {row['gflop']:.3f} | {row['layer_ms']:.2f} | "
            f"{row['matmul_ms']:.2f} | {row['layer_gflops']:.1f} | {row['matmul_gflops']:.1f} | "
            f"{100 * row['fraction_of_matmul_throughput']:.0f}% |"
        )
    threads = report["threads"]
    cores = threads["cores"]
    lines += [
        "",
        f"## Threads (1 against {cores}, alternating, LSTM)",
        "",
        f"| workload | examples/s, 1 thread | examples/s, {cores} threads | speed-up with {cores} threads |",
        "|---|---|---|---|",
    ]
    for name, row in threads["workloads"].items():
        lines.append(
            f"| {name} | {row['examples_per_s_1_thread']:.0f} | {row[f'examples_per_s_{cores}_threads']:.0f} | "
            f"{row['speedup_all_cores']:.2f} |"
        )
    lines += [
        "",
        f"Package default: {report['default_threads']} thread(s) (`hf_rnn.runtime.default_num_threads`).",
        "",
    ]
    sections = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in report["section_seconds"].items())
    lines += [(f"Benchmark time: {report['seconds']:.0f} s ({sections}); load average at the end "
              f"{', '.join(f'{x:.1f}' for x in m['load_average_at_end'])}."), ""]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    (bench,) = HfArgumentParser(BenchmarkArguments).parse_args_into_dataclasses(args=argv)
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    if bench.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(bench.device)
    if device.type == "cpu" and bench.precision == "fp16":
        raise SystemExit("--precision fp16 needs a GPU: on the CPU the Trainer leaves it off. Use bf16 or fp32.")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # packed sequences change shape every batch
    architectures = bench.architectures.split(",")
    plan = Plan.make(bench.quick, architectures)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        run = prepare_run(
            ModelArguments(),
            DataArguments(train_file=bench.train_file),
            training_arguments(bench, device, scratch, plan.epochs),
        )
        threads = torch.get_num_threads()
        report = {
            "command": shlex.join(["python", "scripts/benchmark.py", *argv]),
            "machine": machine(device, threads),
            "precision": bench.precision,
            "note": bench.note,
            "default_threads": default_num_threads(),
            "plan": asdict(plan),
            "epochs": plan.epochs,
            "training_examples": len(run.encoded["train"]),
            "section_seconds": {},
        }
        sections = {
            "training": lambda: bench_training(bench, plan, run, device, scratch),
            "inference": lambda: bench_inference(bench, plan, run, device),
            "scaling": lambda: bench_scaling(bench, plan, run, device),
            "profile": lambda: bench_profile(bench, plan, run, device),
            "threads": lambda: bench_threads(bench, plan, run, device),
        }
        for name, section in sections.items():
            begin = time.perf_counter()
            report[name] = section()
            report["section_seconds"][name] = time.perf_counter() - begin
    report["seconds"] = time.perf_counter() - started
    report["machine"]["load_average_at_end"] = os.getloadavg()
    os.makedirs(bench.output_dir, exist_ok=True)
    with open(os.path.join(bench.output_dir, "benchmark.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(bench.output_dir, "benchmark.md"), "w") as handle:
        handle.write(markdown(report))
    print(f"done in {report['seconds']:.0f} s; results in {bench.output_dir}/benchmark.{{json,md}}")
    return report


if __name__ == "__main__":
    main()
