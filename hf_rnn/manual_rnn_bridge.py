"""The manual RNN's link to the library: weight exchange and the side-by-side training run (`hf-rnn manual`).

Kept apart from `manual_rnn.py` so that the reference stays NumPy-only: this is the one module of the manual RNN that
imports torch. [`ManualRNN.from_hf`] and [`ManualRNN.to_hf`] call its weight exchange; [`run_comparison`] trains the
manual RNN and [`RNNForSequenceClassification`] from the same initial weights on the same batches (same data,
tokenizer and splits as `hf-rnn train`) and reports accuracy and seconds per epoch of both.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import set_seed

from .configuration_hf_rnn import RNNConfig
from .manual_rnn import Adam, ManualRNN, train_step
from .modeling_hf_rnn import RNNForSequenceClassification
from .runtime import configure_threads
from .tokenization import TOKENIZER_TYPES, train_tokenizer
from .training import DataArguments, ModelArguments, build_model, tokenize_splits

#: Manual parameter name -> name in the library's state dict.
HF_NAMES = {
    "E": "encoder.embeddings.weight",
    "U": "encoder.layers.0.weight_ih_l0",
    "W": "encoder.layers.0.weight_hh_l0",
    "b_ih": "encoder.layers.0.bias_ih_l0",
    "b_hh": "encoder.layers.0.bias_hh_l0",
    "V": "classifier.weight",
    "c": "classifier.bias",
}


def check_representable(model: torch.nn.Module) -> None:
    """
    Raise a `TypeError` if `model` is not an [`RNNForSequenceClassification`], and a `ValueError` naming the first
    option of its config that the manual RNN (one unidirectional tanh layer, last-state pooling, single-label
    cross-entropy) cannot represent.
    """
    if not isinstance(model, RNNForSequenceClassification):
        raise TypeError(f"the manual RNN mirrors RNNForSequenceClassification only, got {type(model).__name__}.")
    config = model.config
    unsupported = {
        "num_layers": (config.num_layers, 1),
        "bidirectional": (config.bidirectional, False),
        "nonlinearity": (config.nonlinearity, "tanh"),
        "pooling": (config.pooling, "last"),
    }
    for name, (value, supported) in unsupported.items():
        if value != supported:
            raise ValueError(
                f"the manual RNN cannot represent {name}={value!r}; it supports {name}={supported!r} only."
            )
    if config.problem_type not in (None, "single_label_classification"):
        raise ValueError(
            f"the manual RNN cannot represent problem_type={config.problem_type!r}; "
            "it trains with single-label cross-entropy only."
        )


def manual_params_from_hf(
    model: RNNForSequenceClassification, dtype: np.dtype | type | None = None
) -> tuple[dict[str, np.ndarray], int | None]:
    """The manual parameters (copies, in `dtype` or the model's own) and the padding id of a library model."""
    check_representable(model)
    state = model.state_dict()
    params = {
        name: np.array(state[hf_name].detach().cpu().numpy(), dtype=dtype, copy=True)
        for name, hf_name in HF_NAMES.items()
    }
    return params, model.config.pad_token_id


def hf_from_manual(
    params: dict[str, np.ndarray], pad_token_id: int | None, **config_kwargs
) -> RNNForSequenceClassification:
    """A float32 [`RNNForSequenceClassification`] with the manual weights; `config_kwargs` go to [`RNNConfig`]."""
    vocab_size, embedding_dim = params["E"].shape
    config = RNNConfig(
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        hidden_size=params["W"].shape[0],
        num_labels=params["V"].shape[0],
        pad_token_id=pad_token_id,
        **config_kwargs,
    )
    model = RNNForSequenceClassification(config)
    state = {
        hf_name: torch.from_numpy(np.asarray(params[name], dtype=np.float32)) for name, hf_name in HF_NAMES.items()
    }
    model.load_state_dict(state, strict=True)
    return model.eval()


@dataclass
class ManualRNNArguments:
    """Options of `hf-rnn manual` (data options: those of `hf-rnn train`). Both models get the same settings."""

    embedding_dim: int = field(default=128, metadata={"help": "Size of the token embeddings."})
    hidden_size: int = field(default=128, metadata={"help": "Size of the recurrent state."})
    tokenizer_type: str = field(
        default="word", metadata={"help": "Tokenizer trained on the train split.", "choices": list(TOKENIZER_TYPES)}
    )
    vocab_size: int = field(default=8000, metadata={"help": "Largest tokenizer vocabulary."})
    min_frequency: int = field(default=1, metadata={"help": "Least count for a word to enter the vocabulary."})
    max_length: int = field(default=256, metadata={"help": "Questions are truncated to this many tokens."})
    num_epochs: int = field(default=5, metadata={"help": "Training epochs of each model."})
    batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Constant Adam learning rate."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Global gradient-norm clipping threshold."})
    seed: int = field(default=42, metadata={"help": "Seed of the initial weights and of the batch order."})
    dtype: str = field(
        default="float32", metadata={"help": "Precision of both models.", "choices": ["float32", "float64"]}
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "CPU threads of torch and of NumPy's BLAS (default: hf_rnn.runtime)."}
    )
    output_dir: str = field(default="results", metadata={"help": "Where manual_rnn.json and manual_rnn.md go."})


@dataclass
class Batch:
    """One right-padded batch, as NumPy arrays."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    labels: np.ndarray


def make_batches(split: Dataset, order: np.ndarray, batch_size: int, pad_token_id: int) -> list[Batch]:
    """Cut `order` (row indices of a tokenised split) into batches, each padded on the right to its longest row."""
    batches = []
    for start in range(0, len(order), batch_size):
        rows = split[order[start : start + batch_size]]
        lengths = np.array([len(ids) for ids in rows["input_ids"]])
        input_ids = np.full((len(lengths), lengths.max()), pad_token_id, dtype=np.int64)
        attention_mask = np.arange(lengths.max())[None, :] < lengths[:, None]
        input_ids[attention_mask] = np.concatenate(rows["input_ids"])
        batches.append(Batch(input_ids, attention_mask.astype(np.int64), np.asarray(rows["labels"], dtype=np.int64)))
    return batches


def manual_epoch(model: ManualRNN, optimizer: Adam, batches: list[Batch], max_grad_norm: float) -> Iterator[float]:
    """Train the manual RNN on `batches` in order, yielding the loss of each step."""
    for batch in batches:
        yield train_step(model, optimizer, batch.input_ids, batch.attention_mask, batch.labels, max_grad_norm)


def library_epoch(
    model: RNNForSequenceClassification, optimizer: torch.optim.Optimizer, batches: list[Batch], max_grad_norm: float
) -> Iterator[float]:
    """Train the library model on `batches` in order (plain torch loop), yielding the loss of each step."""
    model.train()
    for batch in batches:
        optimizer.zero_grad()
        loss = model(
            input_ids=torch.from_numpy(batch.input_ids),
            attention_mask=torch.from_numpy(batch.attention_mask),
            labels=torch.from_numpy(batch.labels),
        ).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        yield loss.item()


def manual_accuracy(model: ManualRNN, batches: list[Batch]) -> float:
    """Share of rows whose highest manual logit is the label."""
    correct = sum(int((model.logits(b.input_ids, b.attention_mask).argmax(1) == b.labels).sum()) for b in batches)
    return correct / sum(len(b.labels) for b in batches)


@torch.no_grad()
def library_accuracy(model: RNNForSequenceClassification, batches: list[Batch]) -> float:
    """Share of rows whose highest library logit is the label."""
    model.eval()
    correct = 0
    for batch in batches:
        logits = model(torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)).logits
        correct += int((logits.argmax(1).numpy() == batch.labels).sum())
    return correct / sum(len(b.labels) for b in batches)


@dataclass
class Contender:
    """One of the two models being compared: how it trains for an epoch and how it scores a split."""

    name: str
    epoch: Callable[[list[Batch]], Iterator[float]]
    accuracy: Callable[[list[Batch]], float]


def train_and_time(contender: Contender, batches: list[Batch], number: int, validation: list[Batch]) -> dict:
    """
    Train `contender` for one epoch with a progress bar, then print and return its mean training loss, its
    validation accuracy and the training seconds (evaluation excluded).
    """
    start = time.perf_counter()
    losses = list(
        tqdm(contender.epoch(batches), total=len(batches), desc=f"{contender.name} epoch {number}", leave=False)
    )
    seconds = time.perf_counter() - start
    record = {
        "epoch": number,
        "train_loss": float(np.mean(losses)),
        "validation_accuracy": contender.accuracy(validation),
        "seconds": seconds,
    }
    print(
        f"{contender.name:>7} epoch {number}: loss {record['train_loss']:.4f}  "
        f"validation accuracy {record['validation_accuracy']:.4f}  {seconds:.2f} s"
    )
    return record


def run_epochs(contenders: list[Contender], epoch_batches: list[list[Batch]], splits: dict[str, list[Batch]]) -> dict:
    """
    Train the contenders epoch by epoch, taking turns within each epoch (so that both meet the same load on a shared
    machine), on the same batches; then score each on the validation and test splits.
    """
    records: dict[str, list[dict]] = {contender.name: [] for contender in contenders}
    for number, batches in enumerate(epoch_batches, start=1):
        for contender in contenders:
            records[contender.name].append(train_and_time(contender, batches, number, splits["validation"]))
    return {
        contender.name: {
            "epochs": records[contender.name],
            "seconds_per_epoch": float(np.mean([record["seconds"] for record in records[contender.name]])),
            "validation_accuracy": records[contender.name][-1]["validation_accuracy"],
            "test_accuracy": contender.accuracy(splits["test"]),
        }
        for contender in contenders
    }


@contextlib.contextmanager
def limit_blas_threads(num_threads: int) -> Iterator[str]:
    """
    Hold NumPy's BLAS to `num_threads` threads (through `threadpoolctl`) and yield a description for the report.

    Without a limit, OpenBLAS splits even the 32x128 products of one recurrence step over every core, which on a small
    shared machine costs more than it saves (2.3x slower in one probe).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield "not limited (threadpoolctl not installed)"
        return
    with threadpool_limits(limits=num_threads, user_api="blas"):
        yield str(num_threads)


def run_comparison(data_args: DataArguments, args: ManualRNNArguments, command: str) -> dict:
    """
    Train the manual RNN and [`RNNForSequenceClassification`] with the same settings and compare them.

    Data, splits and tokenizer are those of `hf-rnn train` (`data_args` is its `DataArguments`). The library model is
    built as `hf-rnn train --model_type rnn` builds it (seeded), and the manual RNN starts from a copy of its weights;
    both see the same batches in the same order, with a constant learning rate, Adam and global-norm clipping, and take
    turns epoch by epoch so that both meet the same load on a shared machine. The library model trains in a plain
    torch loop, not the `Trainer`, so that both timings measure the same work. The result is printed and written to
    `output_dir/manual_rnn.json` and `output_dir/manual_rnn.md`.

    Returns:
        `dict`: Settings, per-epoch records and final accuracies of both models, and the time ratio.
    """
    threads = configure_threads(args.num_threads)
    set_seed(args.seed)
    data = data_args.load_splits()
    tokenizer = train_tokenizer(
        data["train"]["text"],
        tokenizer_type=args.tokenizer_type,
        vocab_size=args.vocab_size,
        min_frequency=args.min_frequency,
        model_max_length=args.max_length,
    )
    encoded = tokenize_splits(data, tokenizer, data_args.label_column, args.max_length)
    pad_id = tokenizer.pad_token_id
    rng = np.random.default_rng(args.seed)
    epoch_batches = [
        make_batches(encoded["train"], rng.permutation(len(encoded["train"])), args.batch_size, pad_id)
        for _ in range(args.num_epochs)
    ]
    splits = {
        name: make_batches(encoded[name], np.arange(len(encoded[name])), 256, pad_id)
        for name in ("validation", "test")
    }

    label_names = data["train"].features[data_args.label_column].names
    model_args = ModelArguments(  # the one configuration the manual RNN computes, whatever the package defaults
        model_type="rnn",
        embedding_dim=args.embedding_dim,
        hidden_size=args.hidden_size,
        num_layers=1,
        bidirectional=False,
        pooling="last",
        nonlinearity="tanh",
        embedding_dropout=0.0,
        word_dropout=0.0,
        classifier_dropout=0.0,
    )
    library = build_model(model_args, tokenizer, label_names).to(getattr(torch, args.dtype))
    manual = ManualRNN.from_hf(library, dtype=np.dtype(args.dtype))
    manual_optimizer = Adam(manual.params, lr=args.learning_rate)
    library_optimizer = torch.optim.Adam(library.parameters(), lr=args.learning_rate)

    contenders = [
        Contender(
            "manual",
            lambda batches: manual_epoch(manual, manual_optimizer, batches, args.max_grad_norm),
            lambda batches: manual_accuracy(manual, batches),
        ),
        Contender(
            "library",
            lambda batches: library_epoch(library, library_optimizer, batches, args.max_grad_norm),
            lambda batches: library_accuracy(library, batches),
        ),
    ]
    with limit_blas_threads(threads) as blas_threads:
        results = run_epochs(contenders, epoch_batches, splits)
    report = {
        "command": command,
        "settings": asdict(args),
        "data": {**asdict(data_args), **{f"{name}_size": len(encoded[name]) for name in encoded}},
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch_threads": threads,
            "numpy_blas_threads": blas_threads,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        **results,
        "time_ratio_manual_to_library": results["manual"]["seconds_per_epoch"]
        / results["library"]["seconds_per_epoch"],
    }
    print(format_summary(report))
    write_report(report, args.output_dir)
    return report


def format_summary(report: dict) -> str:
    """The final comparison as a Markdown table."""
    rows = [
        "| model | validation accuracy | test accuracy | seconds / epoch |",
        "|---|---|---|---|",
    ]
    for name, label in (("manual", "ManualRNN (NumPy)"), ("library", "RNNForSequenceClassification (torch)")):
        result = report[name]
        rows.append(
            f"| {label} | {result['validation_accuracy']:.4f} | {result['test_accuracy']:.4f} "
            f"| {result['seconds_per_epoch']:.2f} |"
        )
    rows.append(f"\nManual / library time per epoch: {report['time_ratio_manual_to_library']:.2f}x")
    return "\n".join(rows)


def write_report(report: dict, output_dir: str) -> None:
    """Write `manual_rnn.json` (everything) and `manual_rnn.md` (command, settings, table) to `output_dir`."""
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "manual_rnn.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    settings = ", ".join(f"{key}={value}" for key, value in report["settings"].items() if key != "output_dir")
    machine = ", ".join(f"{key}={value}" for key, value in report["machine"].items())
    lines = [
        "# Manual RNN (NumPy) vs RNNForSequenceClassification",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Settings (both models, same initial weights, same batches): {settings}.",
        (
            "Both train with a constant learning rate, Adam and global-norm clipping; the library model in a plain "
            "torch loop (not the `Trainer`), the two taking turns epoch by epoch. Seconds count training only."
        ),
        (
            f"Data: train {report['data']['train_size']}, validation {report['data']['validation_size']}, "
            f"test {report['data']['test_size']} questions, label `{report['data']['label_column']}`."
        ),
        f"Machine: {machine}.",
        "",
        format_summary(report),
        "",
        "| epoch | manual loss | library loss | manual val. acc. | library val. acc. | manual s | library s |",
        "|---|---|---|---|---|---|---|",
    ]
    for manual, library in zip(report["manual"]["epochs"], report["library"]["epochs"]):
        lines.append(
            f"| {manual['epoch']} | {manual['train_loss']:.4f} | {library['train_loss']:.4f} "
            f"| {manual['validation_accuracy']:.4f} | {library['validation_accuracy']:.4f} "
            f"| {manual['seconds']:.2f} | {library['seconds']:.2f} |"
        )
    with open(os.path.join(output_dir, "manual_rnn.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
