"""What `--class_weights balanced` and `--balanced_sampling` change on skewed data: macro-F1 on a balanced test.

    python -m scripts.class_weights_effect [--train_file FILE] [--seeds 1,2] [--output_dir results]

The TREC split's training questions are skewed on purpose (every LOC and NUM question but one in `--keep_one_in` is
dropped; ABBR is rare already), validation and test stay as they are, and one model is trained per setting and seed.
Writes `class_weights.{json,md}`.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_rnn.data import label_names, load_splits
from hf_rnn.data.trec import default_train_file
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

SETTINGS = {
    "none": {},
    "balanced weights": {"class_weights": "balanced"},
    "balanced sampling": {"balanced_sampling": True},
}


@dataclass
class EffectArguments:
    train_file: str = field(default_factory=lambda: os.fspath(default_train_file()), metadata={"help": "TREC file."})
    skewed_labels: str = field(default="LOC,NUM", metadata={"help": "Labels thinned out in the train split."})
    keep_one_in: int = field(default=8, metadata={"help": "Keep one question in this many of the skewed labels."})
    model_type: str = field(default="gru", metadata={"help": "Architecture."})
    seeds: str = field(default="1,2", metadata={"help": "Training seeds."})
    num_train_epochs: float = field(default=10, metadata={"help": "Most epochs per run."})
    output_dir: str = field(default="results", metadata={"help": "Where class_weights.{json,md} go."})


def skewed_files(args: EffectArguments, folder: str) -> dict[str, str]:
    """The split as JSON Lines files, the train split thinned out for `skewed_labels`."""
    data = load_splits(train_file=args.train_file)
    names, thinned = label_names(data), set(args.skewed_labels.split(","))
    files, seen = {}, {}
    for split in ("train", "validation", "test"):
        path = os.path.join(folder, f"{split}.jsonl")
        with open(path, "w", encoding="utf-8") as handle:
            for text, label in zip(data[split]["text"], data[split]["label"]):
                name = names[label]
                seen[name] = seen.get(name, 0) + 1
                if split == "train" and name in thinned and seen[name] % args.keep_one_in:
                    continue
                handle.write(json.dumps({"text": text, "label": name}) + "\n")
        files[split] = path
    return files


def main() -> None:
    (args,) = HfArgumentParser(EffectArguments).parse_args_into_dataclasses()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        files = skewed_files(args, folder)
        data_args = DataArguments(
            train_file=files["train"], validation_file=files["validation"], test_file=files["test"]
        )
        counts = {}
        for name, options in SETTINGS.items():
            runs = []
            for seed in (int(seed) for seed in args.seeds.split(",")):
                training_args = RecurrentTrainingArguments(
                    output_dir=os.path.join(folder, f"{name}-{seed}".replace(" ", "_")), seed=seed,
                    num_train_epochs=args.num_train_epochs, report_to="none", disable_tqdm=True, **options,
                )  # fmt: skip
                with contextlib.redirect_stdout(sys.stderr):
                    metrics = train(ModelArguments(model_type=args.model_type), data_args, training_args)
                runs.append({key: metrics[key] for key in ("test_accuracy", "test_macro_f1", "eval_macro_f1")})
            rows[name] = {
                key: statistics.fmean(run[key] for run in runs) for key in ("test_accuracy", "test_macro_f1")
            } | {"runs": runs}
        with open(files["train"], encoding="utf-8") as handle:
            for line in handle:
                label = json.loads(line)["label"]
                counts[label] = counts.get(label, 0) + 1
    options = vars(args) | {"train_file": os.path.basename(args.train_file)}  # no local paths in results
    report = {"arguments": options, "train_label_counts": counts, "rows": rows}
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "class_weights.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    lines = [
        "# Class weights on skewed data",
        "",
        f"`python -m scripts.class_weights_effect` ({args.model_type}, seeds {args.seeds}); train label counts: "
        + ", ".join(f"{label} {count}" for label, count in sorted(counts.items()))
        + "; validation and test as in the package's split.",
        "",
        "| setting | test accuracy | test macro-F1 |",
        "|---|---|---|",
        *(f"| {name} | {row['test_accuracy']:.2%} | {row['test_macro_f1']:.2%} |" for name, row in rows.items()),
        "",
    ]
    with open(os.path.join(args.output_dir, "class_weights.md"), "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
