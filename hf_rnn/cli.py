"""
The `hf-rnn` command: `hf-rnn COMMAND [CONFIG.json] [--option value ...]`; dispatch only.

Each command parses its dataclasses from `hf_rnn.training_args` or `hf_rnn.command_args` (a JSON file first supplies
options, which flags after it override), calls the library and prints its result as JSON on stdout; logs go to
stderr. Known failures print one line, `hf-rnn COMMAND: error: ...`, and exit with 2 (a bad option) or 1 (anything
else); `--debug` or `HF_RNN_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from transformers import HfArgumentParser

from . import command_args
from . import training_args as arguments
from .data.trec import decode_text

USAGE_ERROR, RUNTIME_ERROR = 2, 1


class CommandLineError(Exception):
    """A failure to report in one line, with its exit status."""

    def __init__(self, message: str, status: int = RUNTIME_ERROR):
        super().__init__(message)
        self.status = status


class _Parser(HfArgumentParser):
    """`HfArgumentParser` whose errors are one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{message} (see {self.prog} --help)", USAGE_ERROR)


#: Options holding a file or folder: in a JSON configuration, a relative one is found from the current folder, else
#: from the configuration's folder (so `recipes/*.json` run from anywhere).
PATH_OPTIONS = ("train_file", "validation_file", "test_file", "teacher_soft_labels", "class_weights", "teacher")


def _config_path(value: str, config_dir: str) -> str:
    if os.path.isabs(value) or os.path.exists(value) or value.startswith("package:"):
        return value
    beside = os.path.normpath(os.path.join(config_dir, value))
    return beside if os.path.exists(beside) else value


def _json_options(path: str) -> list[str]:
    """The options of a JSON configuration file as command-line arguments (relative paths: see `PATH_OPTIONS`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise CommandLineError(f"{path}: not a readable JSON configuration ({error}).", USAGE_ERROR) from None
    if not isinstance(config, dict):
        raise CommandLineError(f"{path}: a JSON configuration must be an object of options.", USAGE_ERROR)
    argv = []
    for key, value in config.items():
        if key in PATH_OPTIONS and isinstance(value, str):
            value = _config_path(value, os.path.dirname(os.path.abspath(path)))
        values = value if isinstance(value, list) else [value]
        argv += [f"--{key}", *(json.dumps(item) if isinstance(item, bool) else str(item) for item in values)]
    return argv


def parse(dataclass_types: tuple, argv: Sequence[str], prog: str, extra: Callable | None = None) -> tuple:
    """Parse `argv` (optionally a JSON file first, overridden by the flags after it) into `dataclass_types`."""
    parser = _Parser(dataclass_types, prog=prog)
    if extra is not None:
        extra(parser)
    argv = list(argv)
    if argv and argv[0].endswith(".json"):
        argv = _json_options(argv[0]) + argv[1:]
    try:
        *parsed, unknown = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    except arguments.ArgumentError as error:
        raise CommandLineError(str(error), USAGE_ERROR) from None
    except ValueError as error:  # TrainingArguments' own checks of option combinations
        raise CommandLineError(" ".join(str(error).split()), USAGE_ERROR) from None
    if unknown:
        raise CommandLineError(f"unrecognized arguments: {' '.join(unknown)} (see {prog} --help)", USAGE_ERROR)
    return tuple(parsed)


def _print_json(result: object) -> None:
    print(json.dumps(result), flush=True)


def _scores(metrics: dict) -> dict:
    """Accuracy and macro-F1 of each split (for multi-label runs also micro-F1 and subset accuracy)."""
    multi_label = any(key.endswith("subset_accuracy") for key in metrics)
    endings = ("accuracy", "_macro_f1", "_micro_f1") if multi_label else ("_accuracy", "_macro_f1")
    return {key: metrics[key] for key in sorted(metrics) if key.endswith(endings)}


def train_command(argv: Sequence[str]) -> None:
    from .training import train

    model_args, data_args, training_args = parse(
        (arguments.ModelArguments, arguments.DataArguments, arguments.RecurrentTrainingArguments), argv, "hf-rnn train"
    )
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs; stdout carries the result only
        metrics = train(model_args, data_args, training_args)
    _print_json(_scores(metrics))


def evaluate_command(argv: Sequence[str]) -> None:
    from .inference import evaluate_dataset, evaluate_file, load_classifier
    from .threads import configure_threads

    (args,) = parse((command_args.EvaluateArguments,), argv, "hf-rnn evaluate")
    configure_threads(args.num_threads)
    model, tokenizer = load_classifier(args.model_name_or_path)
    columns = {
        "text_column_names": args.text_column_names.split(",") if args.text_column_names else None,
        "label_column_name": args.label_column_name,
        "text_column_delimiter": args.text_column_delimiter,
    }
    if args.test_file is not None:
        result = evaluate_file(model, tokenizer, args.test_file, batch_size=args.batch_size, **columns)
    else:
        result = evaluate_dataset(
            model, tokenizer, args.dataset_name, args.split, args.dataset_config_name, args.batch_size, **columns
        )
    _print_json(result)


def read_stdin_lines() -> list[str]:
    """The lines of standard input, decoded as UTF-8 when valid and as Latin-1 otherwise (as data files are)."""
    return decode_text(sys.stdin.buffer.read()).replace("\r\n", "\n").replace("\r", "\n").splitlines()


def predict_command(argv: Sequence[str]) -> None:
    from .inference import load_classifier, predict, validate_texts
    from .threads import configure_threads

    def add_texts(parser: HfArgumentParser) -> None:
        parser.add_argument("texts", nargs="*", help="Texts to classify (none: one per line on stdin).")

    args, rest = parse((command_args.PredictArguments,), argv, "hf-rnn predict", add_texts)
    texts = validate_texts(rest.texts or read_stdin_lines())  # arguments that are not UTF-8: decoded as files are
    configure_threads(args.num_threads)
    model, tokenizer = load_classifier(args.model_name_or_path)
    for text, answer in zip(texts, predict(model, tokenizer, texts, batch_size=args.batch_size, top_k=args.top_k)):
        _print_json({"text": text, **answer} if isinstance(answer, dict) else {"text": text, "labels": answer})


def push_command(argv: Sequence[str]) -> None:
    from .hub import push_model

    (args,) = parse((command_args.PushArguments,), argv, "hf-rnn push")
    commit = push_model(
        args.model_name_or_path,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        commit_message=args.commit_message,
        space_id=args.space,
    )
    print(commit.commit_url)
    if args.space is not None:
        from huggingface_hub import constants

        print(f"{constants.ENDPOINT}/spaces/{args.space}")


def export_command(argv: Sequence[str]) -> None:
    from .export import export_onnx

    (args,) = parse((command_args.ExportArguments,), argv, "hf-rnn export")
    _print_json(export_onnx(args.model_name_or_path, args.output_dir, quantize=args.quantize, opset=args.opset))


def demo_command(argv: Sequence[str]) -> None:
    from .demo import serve

    (args,) = parse((command_args.DemoArguments,), argv, "hf-rnn demo")
    serve(args.model_name_or_path, args.server_port, args.server_name, args.share, args.title, args.num_threads)


def compact_command(argv: Sequence[str]) -> None:
    from .compact import compact_model

    (args,) = parse((command_args.CompactArguments,), argv, "hf-rnn compact")
    _print_json(
        compact_model(
            args.model_name_or_path,
            args.output_dir,
            pca_dims=args.pca_dims,
            embedding_dtype=args.embedding_dtype,
            prune_vocabulary_to=args.prune_vocabulary_to,
            pca_basis=args.pca_basis,
        )
    )


def card_command(argv: Sequence[str]) -> None:
    from .model_card import regenerate_model_card

    (args,) = parse((command_args.CardArguments,), argv, "hf-rnn card")
    print(regenerate_model_card(args.model_name_or_path))


def teacher_command(argv: Sequence[str]) -> None:
    from transformers import TrainingArguments

    from .data import label_names
    from .distillation import Augmentation, train_teacher, write_soft_labels

    teacher_args, data_args, training_args = parse(
        (command_args.TeacherArguments, arguments.DataArguments, TrainingArguments), argv, "hf-rnn teacher"
    )
    data = data_args.load_splits()
    result, teacher = {}, teacher_args.model_name_or_path
    with contextlib.redirect_stdout(sys.stderr):
        if teacher_args.fine_tune:
            result = _scores(train_teacher(teacher, training_args, data))
            teacher = training_args.output_dir
        if teacher_args.soft_labels_file is not None:
            result["soft_label_rows"] = write_soft_labels(
                [teacher, *(teacher_args.soft_label_ensemble or ())],
                list(data["train"]["text"]),
                label_names(data),
                teacher_args.soft_labels_file,
                Augmentation(
                    teacher_args.soft_label_copies,
                    teacher_args.soft_label_seed,
                    teacher_args.soft_label_replace_probability,
                    teacher_args.soft_label_neighbours_from,
                ),
            )
    _print_json(result)


def search_command(argv: Sequence[str]) -> None:
    from .search import search

    model_args, data_args, training_args, search_args = parse(
        (
            arguments.ModelArguments,
            arguments.DataArguments,
            arguments.RecurrentTrainingArguments,
            command_args.SearchArguments,
        ),
        argv,
        "hf-rnn search",
    )
    with contextlib.redirect_stdout(sys.stderr):
        result = search(model_args, data_args, training_args, search_args)
    _print_json({key: result[key] for key in ("best_validation_accuracy", "best_hyperparameters")})


COMMANDS: dict[str, Callable[[Sequence[str]], None]] = {
    "train": train_command,
    "evaluate": evaluate_command,
    "predict": predict_command,
    "push": push_command,
    "card": card_command,
    "search": search_command,
    "teacher": teacher_command,
    "export": export_command,
    "demo": demo_command,
    "compact": compact_command,
}


def _known_errors() -> tuple[type[BaseException], ...]:
    """The failures that are reported in one line: bad data, options, model folders, pushes, files, the network."""
    from .data import DataError
    from .export import ExportError
    from .hub import PushError
    from .inference import ModelLoadError
    from .optional import MissingExtraError

    return (DataError, ModelLoadError, PushError, ExportError, MissingExtraError, OSError, ValueError)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `hf-rnn` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("HF_RNN_DEBUG", "") not in ("", "0")
    argv = [item for item in argv if item != "--debug"]
    if not argv or argv[0] not in COMMANDS:
        names = "|".join(COMMANDS)
        print(f"usage: hf-rnn {{{names}}} [CONFIG.json] [options]  (hf-rnn COMMAND --help)", file=sys.stderr)
        raise SystemExit(USAGE_ERROR)
    command = argv[0]
    try:
        COMMANDS[command](argv[1:])
    except CommandLineError as error:
        _fail(command, str(error), error.status, debug)
    except arguments.ArgumentError as error:
        _fail(command, str(error), USAGE_ERROR, debug)
    except _known_errors() as error:
        _fail(command, " ".join(str(error).split()) or type(error).__name__, RUNTIME_ERROR, debug)
    except KeyboardInterrupt:
        _fail(command, "interrupted; run the same command again to resume from the last checkpoint.", 130, debug)
    except Exception as error:  # not foreseen: one line all the same, naming the error; --debug shows where it arose
        reason = " ".join(str(error).split())[:300]
        _fail(command, f"{type(error).__name__}: {reason} (unexpected: --debug shows the traceback)", RUNTIME_ERROR,
              debug)  # fmt: skip


def _fail(command: str, message: str, status: int, debug: bool) -> NoReturn:
    if debug:
        raise
    print(f"hf-rnn {command}: error: {message}", file=sys.stderr)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
