"""Score fine-tuned teachers, one by one and as the ensemble whose soft labels a recipe reads, on the package's split.

    python -m scripts.evaluate_teachers --teacher_dirs runs/minilm-trec6,runs/mpnet-trec6-v2 [--train_file FILE]

(default data: `hf_rnn.data.trec.default_train_file()`, as `scripts.reproduce`). Cuts the validation and test splits
as `hf-rnn train` does (`DataArguments`, the same options and defaults), and writes
`teachers.{json,md}` (with `--tag`, `teachers-TAG.*`) in `--output_dir`: accuracy and macro-F1 of each teacher and of
their ensemble (`hf_rnn.distillation.average_log_probabilities`: the renormalised mean of their log-probabilities, what
`hf-rnn teacher --soft_label_ensemble` writes).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser
from transformers import logging as transformers_logging

from hf_rnn.data import label_names
from hf_rnn.data.trec import default_train_file
from hf_rnn.distillation import average_log_probabilities, teacher_logits
from hf_rnn.metrics import classification_metrics
from hf_rnn.training_args import DataArguments
from scripts.common import existing_folders

SPLITS = ("validation", "test")


@dataclass
class TeacherEvaluationArguments:
    """Options of the teacher evaluation."""

    teacher_dirs: str = field(metadata={"help": "Comma-separated fine-tuned transformers classifier folders."})
    output_dir: str = field(default="results", metadata={"help": "Where the table goes."})
    tag: str = field(default="", metadata={"help": "Suffix of the output file names."})


def score_teachers(teacher_dirs: list[str], data, names: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy and macro-F1 on each split of `data` for every teacher alone and, if there are several, together
    (each teacher classifies each split once)."""
    scores = {}
    for split in SPLITS:
        texts = list(data[split]["text"])
        logits = {Path(folder).name: teacher_logits(folder, texts, names) for folder in teacher_dirs}
        if len(teacher_dirs) > 1:
            logits["ensemble"] = average_log_probabilities(list(logits.values()))
        for name, values in logits.items():
            metrics = classification_metrics(data[split]["label"], values.argmax(axis=-1), len(names))
            scores.setdefault(name, {})[split] = {key: metrics[key] for key in ("accuracy", "macro_f1")}
    return scores


def markdown(scores: dict, command: str) -> str:
    """The scores as a Markdown table (percentages)."""
    header = "| teacher | validation acc | validation macro-F1 | test acc | test macro-F1 |"
    lines = ["# Teachers", "", f"Command: `{command}`", "", header, "|---|---|---|---|---|"]
    for name, by_split in scores.items():
        cells = [f"{100 * by_split[split][key]:.2f}" for split in SPLITS for key in ("accuracy", "macro_f1")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", "Ensemble: the renormalised mean of the teachers' log-probabilities (`ensemble_logits`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg.split("=")[0] in ("--train_file", "--dataset_name") for arg in argv):
        argv += ["--train_file", os.fspath(default_train_file())]
    parser = HfArgumentParser((TeacherEvaluationArguments, DataArguments), prog="python -m scripts.evaluate_teachers")
    args, data_args = parser.parse_args_into_dataclasses(args=argv)
    transformers_logging.set_verbosity_error()
    teacher_dirs = existing_folders(args.teacher_dirs, "--teacher_dirs", "python -m scripts.evaluate_teachers")
    data = data_args.load_splits()
    scores = score_teachers(teacher_dirs, data, label_names(data))
    command = " ".join(["python -m scripts.evaluate_teachers", *argv])
    name = "teachers" + (f"-{args.tag}" if args.tag else "")
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, f"{name}.json"), "w") as handle:
        json.dump({"command": command, "teacher_dirs": teacher_dirs, "scores": scores}, handle, indent=2)
    with open(os.path.join(args.output_dir, f"{name}.md"), "w") as handle:
        handle.write(markdown(scores, command))
    print(markdown(scores, command))


if __name__ == "__main__":
    main()
