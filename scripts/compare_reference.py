"""Train the NumPy reference RNN and RNNForSequenceClassification side by side on TREC, and compare them.

    python scripts/compare_reference.py [--train_file FILE] [options]      (--help lists them; or one JSON file)

The library model is built in the one configuration the NumPy RNN computes (one unidirectional tanh layer, last-state
pooling, no dropout), seeded; the NumPy RNN starts from a copy of its weights. Both see the same batches in the same
order, with a constant learning rate, Adam and global-norm clipping, and take turns epoch by epoch so that both meet
the same load on a shared machine. The library model trains in a plain torch loop, not the `Trainer`, so that both
timings measure the same work. Data, splits and tokenizer options are the package's (`ModelArguments`,
`DataArguments`); without `--train_file` or `--dataset_name` the data is `hf_rnn.data.trec.default_train_file()`.
Writes `manual_rnn.json` (everything) and `manual_rnn.md` (command, settings, tables) to `--output_dir` (`results`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import HfArgumentParser, set_seed

from hf_rnn import RNNConfig, RNNForSequenceClassification
from hf_rnn.data import is_multi_label, label_names
from hf_rnn.data.trec import default_train_file
from hf_rnn.reference.convert import from_hf
from hf_rnn.reference.numpy_rnn import Adam, ManualRNN, train_step
from hf_rnn.threads import configure_threads
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training_args import TRAINING_OPTIONS, DataArguments, ModelArguments

#: The model options the NumPy RNN computes: `ModelArguments` fields and their one value (the defaults of this script).
PINNED_MODEL_OPTIONS = {
    "model_type": "rnn",
    "num_layers": 1,
    "bidirectional": False,
    "pooling": "last",
    "nonlinearity": "tanh",
    **{name: 0.0 for name in TRAINING_OPTIONS},  # no dropout of any kind, no label smoothing, no adversarial term
}
#: `ModelArguments` fields the comparison does not support: each must keep its default.
UNSUPPORTED_MODEL_OPTIONS = ("model_name_or_path", "embeddings_from", "freeze_embeddings", "embeddings_pca_dims")
#: `ModelArguments` fields the comparison uses as given (the model size and the tokenizer).
USED_MODEL_OPTIONS = (
    "embedding_dim", "hidden_size", "tokenizer_type", "vocab_size", "min_frequency", "lowercase", "max_length",
)  # fmt: skip


@dataclass
class ComparisonArguments:
    """Options of the comparison itself (model, tokenizer and data: the package's `ModelArguments`/`DataArguments`)."""

    num_epochs: int = field(default=5, metadata={"help": "Training epochs of each model."})
    batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Constant Adam learning rate."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Global gradient-norm clipping threshold."})
    seed: int = field(default=42, metadata={"help": "Seed of the initial weights and of the batch order."})
    dtype: str = field(
        default="float32", metadata={"help": "Precision of both models.", "choices": ["float32", "float64"]}
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "CPU threads of torch and of NumPy's BLAS (default: hf_rnn.threads)."}
    )
    output_dir: str = field(default="results", metadata={"help": "Where manual_rnn.json and manual_rnn.md go."})


def comparison_model_options(model_args: ModelArguments) -> dict[str, object]:
    """
    The `ModelArguments` options the comparison uses (`USED_MODEL_OPTIONS` and `PINNED_MODEL_OPTIONS`).

    Raises:
        `ValueError`: An option differs from the one value the NumPy RNN computes, or is one the comparison does not
            support; the message names it.
    """
    defaults = ModelArguments()
    for name in UNSUPPORTED_MODEL_OPTIONS:
        if getattr(model_args, name) != getattr(defaults, name):
            raise ValueError(f"the comparison does not support --{name}; it trains a new model from scratch.")
    for name, pinned in PINNED_MODEL_OPTIONS.items():
        if getattr(model_args, name) != pinned:
            raise ValueError(
                f"the NumPy RNN computes {name}={pinned!r} only, got {name}={getattr(model_args, name)!r}."
            )
    return {name: getattr(model_args, name) for name in USED_MODEL_OPTIONS + tuple(PINNED_MODEL_OPTIONS)}


def parse_arguments(argv: Sequence[str]) -> tuple[ModelArguments, DataArguments, ComparisonArguments]:
    """
    The options of the command line `argv` (or of the one JSON file it names). The model options default to
    `PINNED_MODEL_OPTIONS`; without `train_file` or `dataset_name`, the data is
    `hf_rnn.data.trec.default_train_file()`.
    """
    parser = HfArgumentParser((ModelArguments, DataArguments, ComparisonArguments), prog="compare_reference.py")
    parser.set_defaults(**PINNED_MODEL_OPTIONS)
    if len(argv) == 1 and argv[0].endswith(".json"):
        with open(argv[0]) as handle:
            options = {**PINNED_MODEL_OPTIONS, **json.load(handle)}
        if options.get("train_file") is None and options.get("dataset_name") is None:
            options["train_file"] = str(default_train_file())
        model_args, data_args, args = parser.parse_dict(options)
    else:
        if not any(
            arg.startswith(("--train_file", "--train-file", "--dataset_name", "--dataset-name")) for arg in argv
        ):
            argv = ["--train_file", str(default_train_file()), *argv]
        model_args, data_args, args = parser.parse_args_into_dataclasses(args=list(argv))
    try:
        comparison_model_options(model_args)
    except ValueError as error:
        parser.error(str(error))
    return model_args, data_args, args


@dataclass
class Batch:
    """One right-padded batch, as NumPy arrays."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    labels: np.ndarray


def make_batches(
    input_ids: Sequence[Sequence[int]], labels: np.ndarray, order: np.ndarray, batch_size: int, pad_token_id: int
) -> list[Batch]:
    """Cut `order` (row indices) into batches of token ids and labels, each padded on the right to its longest row."""
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        lengths = np.array([len(input_ids[row]) for row in rows])
        padded = np.full((len(rows), lengths.max()), pad_token_id, dtype=np.int64)
        mask = np.arange(lengths.max())[None, :] < lengths[:, None]
        padded[mask] = np.concatenate([input_ids[row] for row in rows])
        batches.append(Batch(padded, mask.astype(np.int64), np.asarray(labels[rows], dtype=np.int64)))
    return batches


def manual_epoch(model: ManualRNN, optimizer: Adam, batches: list[Batch], max_grad_norm: float) -> Iterator[float]:
    """Train the NumPy RNN on `batches` in order, yielding the loss of each step."""
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
    """Share of rows whose highest NumPy RNN logit is the label."""
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
    Train the contenders epoch by epoch, taking turns within each epoch, on the same batches; then score each on the
    validation and test splits.
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


def run_comparison(
    model_args: ModelArguments, data_args: DataArguments, args: ComparisonArguments, command: str
) -> dict:
    """
    Train the NumPy RNN and [`RNNForSequenceClassification`] from the same weights on the same batches, print the
    comparison and write it to `args.output_dir` (`manual_rnn.json`, `manual_rnn.md`).

    Returns:
        `dict`: Settings, per-epoch records and final accuracies of both models, and the time ratio.
    """
    options = comparison_model_options(model_args)
    threads = configure_threads(args.num_threads)
    set_seed(args.seed)
    data = data_args.load_splits()
    if is_multi_label(data):
        raise ValueError("the NumPy RNN learns single-label classification only; this data is multi-label.")
    tokenizer = train_tokenizer(
        data["train"]["text"],
        tokenizer_type=options["tokenizer_type"],
        vocab_size=options["vocab_size"],
        min_frequency=options["min_frequency"],
        lowercase=options["lowercase"],
        model_max_length=options["max_length"],
    )
    encoded = {
        name: (
            tokenizer(list(split["text"]), truncation=True, max_length=options["max_length"])["input_ids"],
            np.asarray(split["label"], dtype=np.int64),
        )
        for name, split in data.items()
    }
    pad_id = tokenizer.pad_token_id
    rng = np.random.default_rng(args.seed)
    train_size = len(encoded["train"][1])
    epoch_batches = [
        make_batches(*encoded["train"], rng.permutation(train_size), args.batch_size, pad_id)
        for _ in range(args.num_epochs)
    ]
    splits = {
        name: make_batches(*encoded[name], np.arange(len(encoded[name][1])), 256, pad_id)
        for name in ("validation", "test")
    }

    names = label_names(data["train"])
    config = RNNConfig(
        vocab_size=len(tokenizer),
        pad_token_id=pad_id,
        unk_token_id=tokenizer.unk_token_id,
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        **{name: options[name] for name in ("embedding_dim", "hidden_size") if options[name] is not None},
        **{name: value for name, value in PINNED_MODEL_OPTIONS.items() if name != "model_type"},
    )
    library = RNNForSequenceClassification(config).to(getattr(torch, args.dtype))
    manual = from_hf(library, dtype=np.dtype(args.dtype))
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
        "settings": {
            **options,
            "embedding_dim": config.embedding_dim,
            "hidden_size": config.hidden_size,
            **asdict(args),
        },
        "data": {
            **asdict(data_args),
            "num_labels": len(names),
            **{f"{name}_size": len(encoded[name][1]) for name in encoded},
        },
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
    """Write `manual_rnn.json` (everything) and `manual_rnn.md` (command, settings, tables) to `output_dir`."""
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
            f"test {report['data']['test_size']} rows; {report['data']['num_labels']} classes, label column "
            f"`{report['data']['label_column_name'] or 'default'}`."
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


def main(argv: Sequence[str] | None = None) -> dict:
    """Parse the options (or one JSON file of them) and run the comparison."""
    argv = list(sys.argv[1:] if argv is None else argv)
    model_args, data_args, args = parse_arguments(argv)
    command = shlex.join(["python", "scripts/compare_reference.py", *argv])
    return run_comparison(model_args, data_args, args, command)


if __name__ == "__main__":
    main()
