"""Reproduce the results table: each architecture with its default settings over several seeds, plus the baselines.

    python -m scripts.reproduce                                    # from the repository root
    python -m scripts.reproduce --train_file ../shared/data/trec/train_5500.label

reads `--train_file` (default: `hf_rnn.data.trec.default_train_file()`: `$HF_RNN_TREC_TRAIN`, else
`../shared/data/trec/train_5500.label` beside the repository) and writes `results/trec6.{json,md}` (coarse labels) and
`results/trec50.{json,md}` (fine labels). Every run trains on the train split, selects on the validation split and
scores the test split once. Options after `--` are passed to every `hf-rnn train` run (e.g. `-- --embeddings_from DIR`
or `-- --teacher DIR`) and recorded with the results.

The recipe table (issue 14), instead of the architecture tables:

    python -m scripts.reproduce --recipes recipes/trec6-rnn.json,recipes/trec6-lstm.json --seeds 1,2,3 \
        --teacher_dir DIR

(recipes taught by different teachers run in separate commands, each with its own `--teacher_dir`; a teacher
ensemble is given as its folders separated by commas)

trains each recipe once per seed exactly as `hf-rnn train RECIPE --seed S --output_dir TMP` does (the same parser,
`hf_rnn.cli.parse`; options after `--` go between the recipe and `--seed`), and writes `results/recipes.{json,md}`:
validation and test accuracy (mean ± std over the seeds), seconds per run, model size in MB (`model.safetensors` and
the tokenizer files) and texts per second on one CPU thread (tokenizer + model, batch 64, the validation texts, median
of `--throughput_repeats` passes; `scripts.common.throughput`) of each student, and with `--teacher_dir` (a fine-tuned
transformers classifier folder, or several: an ensemble, whose rate is that of running every member on each text) the
teacher's rate measured in the same turns and the student / teacher ratio.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm
from transformers import HfArgumentParser
from transformers import logging as transformers_logging

from hf_rnn.cli import parse
from hf_rnn.data.trec import default_train_file
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments
from scripts.baselines import plain_pytorch_lstm, tfidf_svm
from scripts.common import existing_folders
from scripts.common.throughput import model_size_mb, texts_per_second

METRICS = ("train_accuracy", "eval_accuracy", "eval_macro_f1", "test_accuracy", "test_macro_f1")
RECIPE_KEYS = ("eval_accuracy", "test_accuracy", "wall_seconds", "size_mb", "texts_per_second")
THROUGHPUT_BATCH_SIZE = 64
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
    keep_models: str | None = field(
        default=None,
        metadata={"help": "Copy every trained model folder (no checkpoints) into this folder."},
    )
    recipes: str = field(
        default="",
        metadata={"help": "Comma-separated `hf-rnn train` JSON configurations: make the recipe table "
                          "(recipes.{json,md}) instead of the architecture tables."},
    )  # fmt: skip
    teacher_dir: str | None = field(
        default=None,
        metadata={"help": "With --recipes: a fine-tuned transformers classifier folder (comma-separated folders: a "
                          "teacher ensemble) whose throughput is measured beside each student's (student / teacher "
                          "ratio)."},
    )  # fmt: skip
    throughput_repeats: int = field(
        default=5, metadata={"help": "With --recipes: passes over the validation texts per throughput figure."}
    )


def keep_model(folder: str | os.PathLike, keep_models: str, prefix: str = "") -> None:
    """Copy a trained model folder, without its checkpoints, into `keep_models` (as `PREFIX` + its name)."""
    shutil.copytree(folder, Path(keep_models) / f"{prefix}{Path(folder).name}", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("checkpoint-*"))  # fmt: skip


def summarize(runs: list[dict], keys: tuple[str, ...] = (*METRICS, "wall_seconds")) -> dict[str, dict[str, float]]:
    """Mean and (sample) standard deviation of each metric over runs."""
    summary = {}
    for key in keys:
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


def recipe_arguments(recipe: str, seed: int, output_dir: str, extra: list[str] | tuple[str, ...] = ()) -> tuple:
    """The (model, data, training) arguments of `hf-rnn train RECIPE [EXTRA] --seed SEED --output_dir OUTPUT_DIR`,
    parsed by the command's own parser (so a recipe means here exactly what it means to `hf-rnn train`)."""
    argv = [recipe, *extra, "--seed", str(seed), "--output_dir", output_dir]
    return parse((ModelArguments, DataArguments, RecurrentTrainingArguments), argv, "hf-rnn train")


def run_recipe(
    recipe: str, seeds: list[int], scratch: str, extra: list[str], teacher_dirs: list[str], repeats: int
) -> dict:
    """
    Train `recipe` once per seed (in `scratch`), then measure the texts per second of every seed's student on one
    CPU thread, with the teachers' (if any) taking turns with them: one row of the recipe table. An ensemble's rate is
    that of its members run one after the other: `1 / sum(1 / rate)`.
    """
    name, runs, model_dirs, texts = Path(recipe).stem, [], {}, None
    for seed in tqdm(seeds, desc=name, unit="seed"):
        output_dir = os.path.join(scratch, f"{name}-seed{seed}")
        model_args, data_args, training_args = recipe_arguments(recipe, seed, output_dir, extra)
        if texts is None:  # the split does not depend on the training seed
            texts = list(copy.deepcopy(data_args).load_splits()["validation"]["text"])
        begin = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # as `hf-rnn train`: the Trainer's logs are not results
            metrics = train(model_args, data_args, training_args)
        run = {"seed": seed, **{key: metrics[key] for key in (*METRICS, "epoch") if key in metrics}}
        run.update(wall_seconds=time.perf_counter() - begin, size_mb=model_size_mb(output_dir))
        for checkpoint in Path(output_dir).glob("checkpoint-*"):  # not served; frees the disk
            shutil.rmtree(checkpoint)
        runs.append(run)
        model_dirs[f"seed {seed}"] = output_dir
    model_dirs.update({f"teacher {index}": teacher_dir for index, teacher_dir in enumerate(teacher_dirs)})
    rates = texts_per_second(model_dirs, texts, batch_size=THROUGHPUT_BATCH_SIZE, repeats=repeats)
    for run in runs:
        run["texts_per_second"] = rates[f"seed {run['seed']}"]
    with open(recipe, encoding="utf-8") as handle:
        config = json.load(handle)
    row = {"recipe": recipe, "config": config, "model_type": model_args.model_type, "validation_texts": len(texts),
           "runs": runs, "summary": summarize(runs, RECIPE_KEYS)}  # fmt: skip
    if teacher_dirs:
        row["teacher_member_texts_per_second"] = [rates[f"teacher {index}"] for index in range(len(teacher_dirs))]
        row["teacher_texts_per_second"] = 1 / sum(1 / rate for rate in row["teacher_member_texts_per_second"])
        row["student_over_teacher"] = row["summary"]["texts_per_second"]["mean"] / row["teacher_texts_per_second"]
    print(f"{name}: " + json.dumps({key: round(value["mean"], 4) for key, value in row["summary"].items()}))
    return row


def mean_std(value: dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
    """`mean ± std` of a summarised metric, scaled (100 for percentages)."""
    return f"{scale * value['mean']:.{digits}f} ± {scale * value['std']:.{digits}f}"


def recipes_markdown(report: dict) -> str:
    """The recipe table as Markdown."""
    teacher = report["teacher"]
    lines = [
        "# Recipes",
        "",
        f"Command: `{report['command']}`"
        + (f" (run options: `{' '.join(report['run_options'])}`)" if report["run_options"] else ""),
        "",
        "| recipe | model | validation acc | test acc | seconds per run | size MB | texts/s, 1 thread | "
        "teacher texts/s | student / teacher |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["rows"].items():
        summary = row["summary"]
        rate = f"{row['teacher_texts_per_second']:.0f}" if teacher else "-"
        ratio = f"{row['student_over_teacher']:.1f}x" if teacher else "-"
        lines.append(
            f"| {name} | {row['model_type']} | {mean_std(summary['eval_accuracy'], 100)} | "
            f"{mean_std(summary['test_accuracy'], 100)} | {mean_std(summary['wall_seconds'], digits=0)} | "
            f"{mean_std(summary['size_mb'], digits=1)} | {mean_std(summary['texts_per_second'], digits=0)} | "
            f"{rate} | {ratio} |"
        )
    throughput = report["throughput"]
    teacher_line = (
        f" Teacher: `{teacher['dir']}` ({teacher['size_mb']:.1f} MB), measured in the same passes as each recipe's "
        "students, taking turns with them (an ensemble: its members one after the other); target: every student at "
        "least 20x its teacher."
        if teacher else " No teacher measured (`--teacher_dir`)."
    )  # fmt: skip
    lines += [
        "",
        f"Mean ± standard deviation over seeds {', '.join(map(str, report['seeds']))}; accuracy in percent on the "
        "validation and test splits of each recipe's data. Size: `model.safetensors` and the tokenizer files "
        f"(10^6 bytes). Texts per second: tokenizer + model on one CPU thread, batch {throughput['batch_size']}, "
        f"the {throughput['texts']} validation texts in file order, median of {throughput['repeats']} passes "
        f"(`scripts.common.throughput`).{teacher_line}",
        "",
    ]
    return "\n".join(lines)


def reproduce_recipes(args: ReproduceArguments, seeds: list[int], command: str, extra: list[str]) -> None:
    """The recipe table: `recipes.json` and `recipes.md` (with `--tag`, `recipes-TAG.*`) in `--output_dir`."""
    recipes = [recipe for recipe in args.recipes.split(",") if recipe]
    for recipe in recipes:  # fail before hours of training, not after
        if not os.path.isfile(recipe):
            raise SystemExit(f"python -m scripts.reproduce: error: --recipes: no such file: {recipe}")
    teacher_dirs = existing_folders(args.teacher_dir, "--teacher_dir", "python -m scripts.reproduce")
    load_at_start, rows = os.getloadavg(), {}
    for recipe in recipes:
        with tempfile.TemporaryDirectory() as scratch:
            rows[Path(recipe).stem] = run_recipe(recipe, seeds, scratch, extra, teacher_dirs,
                                                 args.throughput_repeats)  # fmt: skip
            if args.keep_models is not None:
                for folder in Path(scratch).iterdir():
                    keep_model(folder, args.keep_models)
    report = {
        "command": command, "run_options": extra, "seeds": seeds, "rows": rows,
        "teacher": {"dir": args.teacher_dir, "size_mb": sum(map(model_size_mb, teacher_dirs))} if teacher_dirs
                   else None,
        "throughput": {"batch_size": THROUGHPUT_BATCH_SIZE, "threads": 1, "repeats": args.throughput_repeats,
                       "texts": next(iter(rows.values()))["validation_texts"] if rows else 0},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg()},
    }  # fmt: skip
    name = "recipes" + (f"-{args.tag}" if args.tag else "")
    with open(os.path.join(args.output_dir, f"{name}.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(args.output_dir, f"{name}.md"), "w") as handle:
        handle.write(recipes_markdown(report))


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
    if args.recipes:
        reproduce_recipes(args, seeds, command, extra)
        print(f"done in {time.perf_counter() - started:.0f} s; tables in {args.output_dir}/")
        return
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
                if args.keep_models is not None:
                    keep_model(os.path.join(scratch, f"{arch}-{seed}"), args.keep_models, f"{label_column}-")
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
