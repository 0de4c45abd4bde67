"""Train the three reference models (simple RNN, GRU, LSTM) and write their model cards to `model_cards/<name>/`.

    python scripts/train_reference_models.py --train_file ../shared/data/trec/train_5500.label

Each model is trained by `hf_rnn.training.train` with the package's recommended settings: the model options are left
unset, so `RECOMMENDED_SETTINGS` applies, and the training options are `RNNTrainingArguments`' defaults. Only the card,
its two plots and `results.json` are copied to `model_cards/<name>/`; the weights stay in `--output_root` (a temporary
folder unless given), from where `hf-rnn push --model_name_or_path OUTPUT_ROOT/<name> --repo_id USER/<name>` publishes
a model with its card.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_rnn.model_card import CARD_FILES
from hf_rnn.training import RECOMMENDED_SETTINGS, DataArguments, ModelArguments, RNNTrainingArguments, train

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class ReferenceArguments:
    """Options of the reference training."""

    train_file: str = field(
        default=os.path.join(REPO_ROOT, "..", "shared", "data", "trec", "train_5500.label"),
        metadata={"help": "The Li & Roth TREC training file."},
    )
    architectures: str = field(default="rnn,gru,lstm", metadata={"help": "Comma-separated model types."})
    label_column: str = field(default="coarse_label", metadata={"help": "coarse_label (6 classes) or fine_label."})
    cards_dir: str = field(default=os.path.join(REPO_ROOT, "model_cards"), metadata={"help": "Where the cards go."})
    output_root: str | None = field(
        default=None, metadata={"help": "Keep the trained model directories here (default: a temporary folder)."}
    )


def model_name(model_type: str, label_column: str) -> str:
    """Directory and repo name of a reference model, e.g. `trec6-lstm`."""
    return f"trec{6 if label_column == 'coarse_label' else 50}-{model_type}"


def train_reference_model(model_type: str, args: ReferenceArguments, output_root: str) -> dict:
    """Train one reference model into `output_root/<name>` and copy its card files to `cards_dir/<name>`."""
    name = model_name(model_type, args.label_column)
    output_dir = os.path.join(output_root, name)
    metrics = train(
        ModelArguments(model_type=model_type),
        DataArguments(train_file=args.train_file, label_column=args.label_column),
        RNNTrainingArguments(output_dir=output_dir, overwrite_output_dir=True, report_to="none", disable_tqdm=True),
    )
    card_dir = os.path.join(args.cards_dir, name)
    os.makedirs(card_dir, exist_ok=True)
    for filename in CARD_FILES:
        shutil.copy2(os.path.join(output_dir, filename), os.path.join(card_dir, filename))
    return {key: metrics[key] for key in ("eval_accuracy", "eval_macro_f1", "test_accuracy", "test_macro_f1")}


def main() -> None:
    (args,) = HfArgumentParser(ReferenceArguments).parse_args_into_dataclasses()
    with tempfile.TemporaryDirectory() as temporary:
        output_root = args.output_root or temporary
        for model_type in args.architectures.split(","):
            print(f"{model_type}: recommended settings {RECOMMENDED_SETTINGS[model_type]}", flush=True)
            scores = train_reference_model(model_type, args, output_root)
            print(json.dumps({"model": model_name(model_type, args.label_column), **scores}), flush=True)


if __name__ == "__main__":
    main()
