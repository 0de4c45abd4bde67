"""Training section: the Trainer path against the scripts' plain loop, per architecture, epochs interleaved."""

from __future__ import annotations

import os
import tempfile
import time

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

from hf_rnn.modeling_hf_rnn import RecurrentForSequenceClassification
from hf_rnn.training import PreparedRun, build_model, build_trainer
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.measure import median
from scripts.common.plain_loop import PlainLoop, sync, trainer_like_loop


def training_arguments(
    bench: BenchmarkArguments, device: torch.device, output_dir: str, epochs: int, **overrides
) -> RecurrentTrainingArguments:
    """The package's default training arguments, with the benchmark's epochs, device, precision and seed."""
    return RecurrentTrainingArguments(
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


def new_model(run: PreparedRun, data_args: DataArguments, model_type: str) -> RecurrentForSequenceClassification:
    """A new classifier of `model_type` with the package's default settings, for the run's data and tokenizer."""
    return build_model(ModelArguments(model_type=model_type), run.tokenizer, run.data, data_args, run.class_weights)


def plain_loop(
    run: PreparedRun, data_args: DataArguments, model_args: ModelArguments, args: RecurrentTrainingArguments,
    device: torch.device, precision: str,
) -> PlainLoop:  # fmt: skip
    """The hand-written loop of a new model of `model_args` (seeded as the Trainer seeds its `model_init`)."""
    torch.manual_seed(args.seed)
    model = build_model(model_args, run.tokenizer, run.data, data_args, run.class_weights).to(device)
    return trainer_like_loop(model, run.encoded["train"], run.tokenizer, args, device, precision)


def lstm_plain_loop(
    bench: BenchmarkArguments, run: PreparedRun, data_args: DataArguments, device: torch.device
) -> PlainLoop:
    """The plain loop of an LSTM with the default settings, in training mode (profile and threads sections)."""
    with tempfile.TemporaryDirectory() as scratch:
        args = training_arguments(bench, device, scratch, 1)
    plain = plain_loop(run, data_args, ModelArguments(model_type="lstm"), args, device, bench.precision)
    plain.model.train()
    return plain


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


def bench_training(
    bench: BenchmarkArguments,
    plan: Plan,
    run: PreparedRun,
    data_args: DataArguments,
    device: torch.device,
    scratch: str,
) -> dict[str, dict]:
    """Trainer path against the plain loop, per architecture, epochs interleaved."""
    results = {}
    examples = len(run.encoded["train"])
    for arch in bench.architectures.split(","):
        model_args = ModelArguments(model_type=arch)
        args = training_arguments(bench, device, os.path.join(scratch, arch), plan.epochs)
        timer = InterleavedEpochs(plain_loop(run, data_args, model_args, args, device, bench.precision), device)
        trainer = build_trainer(run, args, run.model_init(model_args, data_args))
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
        ratio = results[arch]["ratio"]
        print(f"training {arch}: trainer {trainer_rate:.0f}/s, plain {plain_rate:.0f}/s, ratio {ratio:.3f}")
    return results
