"""Train the three reference models (simple RNN, GRU, LSTM) and write their model cards to `model_cards/<name>/`.

    python -m scripts.train_reference_models      # from the repository root; --train_file FILE to choose the data

reads `--train_file` (default: `hf_rnn.data.trec.default_train_file()`: `$HF_RNN_TREC_TRAIN`, else
`../shared/data/trec/train_5500.label` beside the repository). Each model is trained by `hf_rnn.training.train` with
the package's defaults: the model options are `ModelArguments`' defaults (the config classes' defaults, the
recommended settings) and the training options `RecurrentTrainingArguments`' defaults. Only the card,
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

from transformers import HfArgumentParser, PretrainedConfig

from hf_rnn.data.trec import default_train_file
from hf_rnn.model_card import CARD_FILES
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class ReferenceArguments:
    """Options of the reference training."""

    train_file: str = field(
        default_factory=lambda: os.fspath(default_train_file()),
        metadata={"help": "The Li & Roth TREC training file (default: $HF_RNN_TREC_TRAIN, else ../shared/data/trec)."},
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


def model_settings(output_dir: str) -> dict:
    """The settings of a saved model: its `config.json` less what every config holds and what the data decides."""
    with open(os.path.join(output_dir, "config.json")) as handle:
        config = json.load(handle)
    data = ("vocab_size", "pad_token_id", "unk_token_id", "class_weights", "multi_label_threshold",
            "label_column_name", "text_column_names", "text_column_delimiter")  # fmt: skip
    common = {*PretrainedConfig().to_dict(), "auto_map", *data}
    return {key: value for key, value in config.items() if key not in common}


def train_reference_model(model_type: str, args: ReferenceArguments, output_root: str) -> dict:
    """
    Train one reference model into `output_root/<name>`, copy its card files to `cards_dir/<name>`, and return its
    validation and test scores and settings.
    """
    name = model_name(model_type, args.label_column)
    output_dir = os.path.join(output_root, name)
    metrics = train(
        ModelArguments(model_type=model_type),
        DataArguments(train_file=args.train_file, label_column_name=args.label_column),
        RecurrentTrainingArguments(
            output_dir=output_dir, overwrite_output_dir=True, report_to="none", disable_tqdm=True
        ),
    )
    card_dir = os.path.join(args.cards_dir, name)
    os.makedirs(card_dir, exist_ok=True)
    for filename in CARD_FILES:
        shutil.copy2(os.path.join(output_dir, filename), os.path.join(card_dir, filename))
    scores = {key: metrics[key] for key in ("eval_accuracy", "eval_macro_f1", "test_accuracy", "test_macro_f1")}
    return {**scores, "settings": model_settings(output_dir)}


def main(argv: list[str] | None = None) -> None:
    parser = HfArgumentParser(ReferenceArguments, prog="python -m scripts.train_reference_models")
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    with tempfile.TemporaryDirectory() as temporary:
        output_root = args.output_root or temporary
        for model_type in args.architectures.split(","):
            print(f"{model_type}: training with the package's default settings", flush=True)
            scores = train_reference_model(model_type, args, output_root)
            print(json.dumps({"model": model_name(model_type, args.label_column), **scores}), flush=True)


if __name__ == "__main__":
    main()
