"""The `hf-rnn` command: `hf-rnn train|evaluate|predict ...`; each subcommand parses its own dataclasses."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from transformers import HfArgumentParser


@dataclass
class InferenceArguments:
    """Options of `hf-rnn evaluate` and `hf-rnn predict`."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (or Hub id)."})
    batch_size: int = field(default=64, metadata={"help": "Questions per forward pass."})
    num_threads: int | None = field(default=None, metadata={"help": "Torch CPU threads."})


@dataclass
class EvaluateArguments(InferenceArguments):
    """Options of `hf-rnn evaluate`."""

    test_file: str = field(default=None, metadata={"help": "Li & Roth label file to score (e.g. TREC_10.label)."})


def _parse(dataclass_types: tuple, argv: Sequence[str], prog: str, extra: Callable | None = None) -> tuple:
    parser = HfArgumentParser(dataclass_types, prog=prog)
    if extra is not None:
        extra(parser)
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(argv[0])
    return parser.parse_args_into_dataclasses(args=list(argv))


def train_command(argv: Sequence[str]) -> None:
    from .training import DataArguments, ModelArguments, RNNTrainingArguments, train

    model_args, data_args, training_args = _parse(
        (ModelArguments, DataArguments, RNNTrainingArguments), argv, "hf-rnn train"
    )
    metrics = train(model_args, data_args, training_args)
    print(json.dumps({key: metrics[key] for key in sorted(metrics) if key.endswith(("accuracy", "macro_f1"))}))


def evaluate_command(argv: Sequence[str]) -> None:
    from .inference import evaluate_file, load_classifier
    from .runtime import configure_threads

    (args,) = _parse((EvaluateArguments,), argv, "hf-rnn evaluate")
    if args.test_file is None:
        raise SystemExit("hf-rnn evaluate: --test_file is required.")
    configure_threads(args.num_threads)
    model, tokenizer = load_classifier(args.model_name_or_path)
    print(json.dumps(evaluate_file(model, tokenizer, args.test_file, batch_size=args.batch_size)))


def predict_command(argv: Sequence[str]) -> None:
    from .inference import load_classifier, predict
    from .runtime import configure_threads

    def add_questions(parser: HfArgumentParser) -> None:
        parser.add_argument("questions", nargs="*", help="Questions to classify (none: one per line on stdin).")

    args, rest = _parse((InferenceArguments,), argv, "hf-rnn predict", add_questions)
    questions = rest.questions or [line.rstrip("\n") for line in sys.stdin]
    configure_threads(args.num_threads)
    model, tokenizer = load_classifier(args.model_name_or_path)
    for question, answer in zip(questions, predict(model, tokenizer, questions, batch_size=args.batch_size)):
        print(json.dumps({"text": question, **answer}))


def manual_command(argv: Sequence[str]) -> None:
    from .manual_rnn_bridge import ManualRNNArguments, run_comparison
    from .training import DataArguments

    data_args, args = _parse((DataArguments, ManualRNNArguments), argv, "hf-rnn manual")
    run_comparison(data_args, args, command=" ".join(["hf-rnn", "manual", *argv]))


@dataclass
class PushArguments:
    """Options of `hf-rnn push`."""

    model_name_or_path: str = field(metadata={"help": "Model directory written by `hf-rnn train`."})
    repo_id: str = field(metadata={"help": "Hub repository: USER/NAME or ORG/NAME (created if needed)."})
    private: bool = field(default=False, metadata={"help": "Make a new repository private."})
    revision: str | None = field(default=None, metadata={"help": "Branch to push to (default: main)."})
    commit_message: str | None = field(default=None, metadata={"help": "Summary of the commit."})


def push_command(argv: Sequence[str]) -> None:
    from .hub import PushError, push_model

    (args,) = _parse((PushArguments,), argv, "hf-rnn push")
    try:
        commit = push_model(
            args.model_name_or_path,
            args.repo_id,
            private=args.private,
            revision=args.revision,
            commit_message=args.commit_message,
        )
    except PushError as error:
        raise SystemExit(f"hf-rnn push: {error}") from None
    print(commit.commit_url)


@dataclass
class CardArguments:
    """Options of `hf-rnn card`."""

    model_name_or_path: str = field(metadata={"help": "Model directory written by `hf-rnn train` (has results.json)."})


def card_command(argv: Sequence[str]) -> None:
    from .model_card import regenerate_model_card

    (args,) = _parse((CardArguments,), argv, "hf-rnn card")
    try:
        print(regenerate_model_card(args.model_name_or_path))
    except FileNotFoundError as error:
        raise SystemExit(f"hf-rnn card: {error}") from None


@dataclass
class TeacherArguments:
    """Options of `hf-rnn teacher`."""

    model_name_or_path: str = field(metadata={"help": "Transformers encoder to fine-tune (e.g. a MiniLM directory)."})


def teacher_command(argv: Sequence[str]) -> None:
    from transformers import TrainingArguments

    from .distillation import train_teacher
    from .training import DataArguments

    teacher_args, data_args, training_args = _parse(
        (TeacherArguments, DataArguments, TrainingArguments), argv, "hf-rnn teacher"
    )
    data = data_args.load_splits()
    metrics = train_teacher(teacher_args.model_name_or_path, training_args, data, data_args.label_column)
    print(json.dumps({key: metrics[key] for key in sorted(metrics) if key.endswith(("accuracy", "macro_f1"))}))


def search_command(argv: Sequence[str]) -> None:
    from .search import SearchArguments, search
    from .training import DataArguments, ModelArguments, RNNTrainingArguments

    model_args, data_args, training_args, search_args = _parse(
        (ModelArguments, DataArguments, RNNTrainingArguments, SearchArguments), argv, "hf-rnn search"
    )
    result = search(model_args, data_args, training_args, search_args)
    print(json.dumps({key: result[key] for key in ("best_validation_accuracy", "best_hyperparameters")}))


COMMANDS: dict[str, Callable[[Sequence[str]], None]] = {
    "train": train_command,
    "evaluate": evaluate_command,
    "predict": predict_command,
    "push": push_command,
    "card": card_command,
    "manual": manual_command,
    "search": search_command,
    "teacher": teacher_command,
}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `hf-rnn` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        names = "|".join(COMMANDS)
        raise SystemExit(f"usage: hf-rnn {{{names}}} [options]  (hf-rnn COMMAND --help for the options)")

    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main()
