"""Reproduce the results table: each architecture with its default settings over several seeds, plus the baselines.

    python -m scripts.reproduce                                    # from the repository root
    python -m scripts.reproduce --train_file ../shared/data/trec/train_5500.label

reads `--train_file` (default: `hf_rnn.data.trec.default_train_file()`: `$HF_RNN_TREC_TRAIN`, else
`../shared/data/trec/train_5500.label` beside the repository) and writes `results/trec6.{json,md}` (coarse labels) and
`results/trec50.{json,md}` (fine labels). Every run trains on the train split, selects on the validation split and
scores the test split once. Options after `--` are passed to every `hf-rnn train` run (e.g. `-- --embeddings_from DIR`
or `-- --teacher DIR`) and recorded with the results.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

from tqdm.auto import tqdm
from transformers import HfArgumentParser
from transformers import logging as transformers_logging

from hf_rnn.data.trec import default_train_file
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments
from scripts.baselines import plain_pytorch_lstm, tfidf_svm

METRICS = ("train_accuracy", "eval_accuracy", "eval_macro_f1", "test_accuracy", "test_macro_f1")
TABLE_NAMES = {"coarse_label": "trec6", "fine_label": "trec50"}


@dataclass
class ReproduceArguments:
    """Options of the reproduction."""

    train_file: str = field(
        default_factory=lambda: os.fspath(default_train_file()),
        metadata={"help": "TREC label file (default: $HF_RNN_TREC_TRAIN, else ../shared/data/trec/train_5500.label)."},
    )
    architectures: str = field(default="rnn,gru,lstm", metadata={"help": "Comma-separated model types."})
    seeds: str = field(default="1,2,3", metadata={"help": "Comma-separated training seeds."})
    label_columns: str = field(default="coarse_label,fine_label", metadata={"help": "Targets to reproduce."})
    baselines: bool = field(default=True, metadata={"help": "Also run the TF-IDF+SVM and plain PyTorch baselines."})
    output_dir: str = field(default="results", metadata={"help": "Where the tables go."})
    tag: str = field(default="", metadata={"help": "Suffix of the output file names (for variants)."})


def summarize(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and (sample) standard deviation of each metric over runs."""
    summary = {}
    for key in (*METRICS, "wall_seconds"):
        values = [run[key] for run in runs if key in run]
        if values:
            summary[key] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
    return summary


def markdown_table(rows: dict[str, dict], label_column: str, command: str, extra: list[str]) -> str:
    """The results as a Markdown table (percentages, mean ± std over seeds)."""
    lines = [
        f"# TREC {'coarse (6 classes)' if label_column == 'coarse_label' else 'fine (50 classes)'}",
        "",
        f"Command: `{command}`" + (f" (run options: `{' '.join(extra)}`)" if extra else ""),
        "",
        "| model | train acc | validation acc | validation macro-F1 | test acc | test macro-F1 | seconds per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        summary = row["summary"]
        cells = [
            f"{100 * summary[key]['mean']:.2f} ± {100 * summary[key]['std']:.2f}" if key in summary else "-"
            for key in METRICS
        ]
        lines.append(f"| {name} | {' | '.join(cells)} | {summary['wall_seconds']['mean']:.1f} |")
    lines.append("")
    lines.append(
        "Mean ± standard deviation over the training seeds (TF-IDF + SVM is deterministic: one run). "
        "Splits: stratified 80/10/10 of the training file, duplicate questions kept in one split."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = HfArgumentParser(ReproduceArguments, prog="python -m scripts.reproduce")
    (args,) = parser.parse_args_into_dataclasses(args=own)
    transformers_logging.set_verbosity_error()
    architectures, seeds = args.architectures.split(","), [int(seed) for seed in args.seeds.split(",")]
    command = " ".join(["python -m scripts.reproduce", *argv])
    os.makedirs(args.output_dir, exist_ok=True)
    started = time.perf_counter()
    for label_column in args.label_columns.split(","):
        rows: dict[str, dict] = {}
        jobs = [(arch, seed) for arch in architectures for seed in seeds]
        progress = tqdm(jobs, desc=f"{label_column}", unit="run")
        with tempfile.TemporaryDirectory() as scratch:
            for arch, seed in progress:
                progress.set_postfix_str(f"{arch} seed {seed}")
                run_argv = ["--model_type", arch, "--train_file", args.train_file, "--label_column_name", label_column,
                            "--output_dir", os.path.join(scratch, f"{arch}-{seed}"), "--seed", str(seed),
                            "--disable_tqdm", "true", "--save_total_limit", "1", *extra]  # fmt: skip
                model_args, data_args, training_args = HfArgumentParser(
                    (ModelArguments, DataArguments, RecurrentTrainingArguments)
                ).parse_args_into_dataclasses(args=run_argv)
                begin = time.perf_counter()
                metrics = train(model_args, data_args, training_args)
                metrics["wall_seconds"] = time.perf_counter() - begin
                rows.setdefault(f"hf_rnn {arch}", {"runs": []})["runs"].append(
                    {key: metrics[key] for key in (*METRICS, "wall_seconds", "epoch") if key in metrics}
                )
        if args.baselines:
            data = DataArguments(train_file=args.train_file, label_column_name=label_column).load_splits()
            for seed in tqdm(seeds, desc="baselines", unit="seed"):
                rows.setdefault("plain PyTorch LSTM loop", {"runs": []})["runs"].append(
                    plain_pytorch_lstm(data, seed=seed)
                )
            rows["TF-IDF + linear SVM"] = {"runs": [tfidf_svm(data)]}  # deterministic: one run
        for row in rows.values():
            row["summary"] = summarize(row["runs"])
        name = TABLE_NAMES[label_column] + (f"-{args.tag}" if args.tag else "")
        report = {
            "label_column": label_column, "command": command, "run_options": extra, "rows": rows,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        }  # fmt: skip
        with open(os.path.join(args.output_dir, f"{name}.json"), "w") as handle:
            json.dump(report, handle, indent=2)
        with open(os.path.join(args.output_dir, f"{name}.md"), "w") as handle:
            handle.write(markdown_table(rows, label_column, command, extra))
    print(f"done in {time.perf_counter() - started:.0f} s; tables in {args.output_dir}/")


if __name__ == "__main__":
    main()
