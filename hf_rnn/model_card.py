"""
Model cards generated from a real training run: the card data gathered from the run, and the card, its plots and
`results.json` written into a model directory.

The card data and its rendering from the template are `RecurrentModelCardData` (`hf_rnn.model_card_data`, its names
re-exported here). Everything the card states is kept in `results.json` beside it, so the card and its plots can be
regenerated for a saved model directory (`hf-rnn card`) without the data or the checkpoints. Writing a card never
calls the Hub.

The card follows the data: it names the Hub dataset, the files or the local dataset folder the model was trained on,
the columns and the label set, and whether the model is single-label (softmax, a confusion matrix) or multi-label
(sigmoid and a decision threshold, F1 per label).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict
from transformers import Trainer
from transformers.trainer_utils import PredictionOutput

from . import ARCHITECTURES
from .card_plots import plot_confusion_matrix, plot_per_label_f1, plot_training_curve
from .configuration_hf_rnn import RecurrentConfig
from .data import is_multi_label
from .metrics import confusion_matrix, multi_hot, per_class_scores, per_label_scores, sigmoid
from .model_card_data import (
    CARD_FILENAME,
    CARD_FILES,
    CONFUSION_MATRIX_FILENAME,
    MULTI_LABEL,
    MULTI_LABEL_CARD_FILES,
    PER_LABEL_F1_FILENAME,
    RESULTS_FILENAME,
    SINGLE_LABEL,
    TRAINING_CURVE_FILENAME,
    TREC_DATASET_IDS,
    RecurrentModelCardData,
)
from .model_card_data import TEMPLATE_PATH as TEMPLATE_PATH
from .model_card_data import CardDataError as CardDataError
from .training_history import TrainingHistoryCallback, short_epoch

#: Distributions whose versions the card lists.
LIBRARIES = ("hf_rnn", "transformers", "torch", "tokenizers", "datasets", "huggingface_hub", "accelerate", "numpy")
#: Training arguments the card reports (those an older `TrainingArguments` lacks are left out).
TRAINING_ARGUMENTS = (
    "learning_rate",
    "weight_decay",
    "optim",
    "lr_scheduler_type",
    "warmup_steps",
    "max_grad_norm",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "early_stopping_patience",
    "metric_for_best_model",
    "load_best_model_at_end",
    "train_sampling_strategy",
    "balanced_sampling",
    "tune_threshold",
    "seed",
)
#: Options of a distilled run that its card reports (with the name of the teacher or soft-label file).
DISTILLATION_ARGUMENTS = (
    "distillation_alpha",
    "distillation_temperature",
    "distillation_augment_copies",
    "distillation_replace_probability",
    "distillation_adjust_teacher",
)
#: Configuration fields that describe the data and the decision rule rather than the network; the card reports them
#: in their own sections, not among the hyperparameters.
DATA_CONFIG_FIELDS = (
    "class_weights",
    "multi_label_threshold",
    "text_column_names",
    "text_column_delimiter",
    "label_column_name",
)
WIDGET_EXAMPLES = 5


def library_versions() -> dict[str, str]:
    """Python and the versions of `LIBRARIES` installed now."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def model_hyperparameters(config: RecurrentConfig) -> dict[str, Any]:
    """Every hyperparameter declared by the recurrent configuration classes, plus the number of labels."""
    names = [
        name
        for cls in reversed(type(config).__mro__)
        if issubclass(cls, RecurrentConfig)
        for name in getattr(cls, "__annotations__", {})
        if name not in DATA_CONFIG_FIELDS
    ]
    return {**{name: getattr(config, name) for name in dict.fromkeys(names)}, "num_labels": config.num_labels}


def widget_examples(texts: list[str], labels: list, count: int = WIDGET_EXAMPLES) -> list[str]:
    """The first text of each of the first `count` labels (label sets, for multi-label data) met, in order."""
    seen, examples = set(), []
    for text, label in zip(texts, labels):
        key = tuple(label) if isinstance(label, list) else label
        if key not in seen and len(examples) < count:
            seen.add(key)
            examples.append(text)
    return examples


def _options(data_args: Any) -> dict[str, Any]:
    """`DataArguments` (or its `asdict`) as a dict."""
    if dataclasses.is_dataclass(data_args):
        return dataclasses.asdict(data_args)
    return dict(data_args)


def _base_name(path: str | None) -> str | None:
    return os.path.basename(os.path.normpath(path)) if path else None


def _public_name(location: str | None) -> str | None:
    """A model or dataset location as a card may show it: a local path by its base name; a Hub id or a
    `package:` name as given."""
    if location is None or not os.path.exists(location):
        return location
    return _base_name(os.path.abspath(location))


def _pretrained_embeddings(model_args: dict[str, Any]) -> dict[str, Any]:
    """Where the tokenizer and input embeddings came from (`--embeddings_from`, no local path, and which of its
    embeddings), if not trained here."""
    source = model_args.get("embeddings_from")
    if not source:
        return {}
    summary = {
        "pretrained_from": _public_name(source),
        "source": model_args.get("embeddings_source", "input"),
        "frozen": bool(model_args.get("freeze_embeddings")),
    }
    if model_args.get("embeddings_pca_dims"):
        summary["pca_dims"] = model_args["embeddings_pca_dims"]
    return summary


def dataset_summary(data_args: Any) -> dict[str, Any]:
    """
    Where the data came from, with no local path: the Hub id (`--dataset_name` that is not a local folder), the base
    name of a local dataset folder, the names of the data files, and the split settings.
    """
    options = _options(data_args)
    files = {split: _base_name(options.get(f"{split}_file")) for split in ("train", "validation", "test")}
    name = options.get("dataset_name")
    local = name is not None and os.path.exists(name)
    dataset_name = _public_name(name)
    if files["train"]:  # a training file replaces the dataset's train split; its other splits may still be used
        source, display, hub_id = "files", files["train"], None
    elif local:
        source, display, hub_id = "local_dataset", dataset_name, None
    else:
        source, display, hub_id = "hub", name, name
    if source == "files" and dataset_name is not None:
        cut_splits = None  # a split without a file came from the dataset, or was cut if the dataset has none
    elif source == "files":
        cut_splits = [split for split in ("validation", "test") if not files[split]]
    elif source == "hub" and name.lower() in TREC_DATASET_IDS:  # TREC has a train and a test split
        cut_splits = [] if files["validation"] else ["validation"]
    else:
        cut_splits = None  # whether the dataset has its own validation/test split is not recorded
    return {
        "source": source,
        "id": display,
        "hub_id": hub_id,
        "dataset_name": dataset_name,
        "config_name": options.get("dataset_config_name") if name else None,
        "train_file": files["train"],
        "validation_file": files["validation"],
        "test_file": files["test"],
        "cut_splits": cut_splits,
        **{key: options.get(key) for key in ("validation_fraction", "test_fraction", "split_seed")},
    }


def data_columns(config: RecurrentConfig, data_args: Any) -> dict[str, Any]:
    """The columns the model was trained on: from the config, else the options (both hold the columns the loader
    resolved, see `DataArguments.load_splits`)."""
    options = _options(data_args)
    text = getattr(config, "text_column_names", None)
    if not text and options.get("text_column_names"):
        text = [name.strip() for name in str(options["text_column_names"]).split(",") if name.strip()]
    label = getattr(config, "label_column_name", None) or options.get("label_column_name")
    delimiter = getattr(config, "text_column_delimiter", None) or options.get("text_column_delimiter") or " "
    return {"text": list(text) if text else None, "label": label, "delimiter": delimiter}


def _split_scores(metrics: Mapping[str, float], prefix: str, samples: int) -> dict[str, float]:
    scores = {key: metrics[f"{prefix}_{key}"] for key in ("accuracy", "macro_f1")}
    for key in ("micro_f1", "weighted_f1", "subset_accuracy"):
        if f"{prefix}_{key}" in metrics:
            scores[key] = metrics[f"{prefix}_{key}"]
    return {**scores, "loss": metrics[f"{prefix}_loss"], "samples": samples}


def build_card_data(
    trainer: Trainer,
    data: DatasetDict,
    data_args: Any,
    test_output: PredictionOutput,
    metrics: Mapping[str, float],
    run_config: Mapping[str, Mapping[str, Any]],
) -> RecurrentModelCardData:
    """
    Gather the card data of a finished run.

    Args:
        trainer: The Trainer after training, holding the selected model and a `TrainingHistoryCallback`.
        data: The splits `hf_rnn.data.load_splits` returned (`train`, `validation`, `test`; columns `text`, `label`).
        data_args: The run's `DataArguments` (or their `asdict`).
        test_output: `trainer.predict` on the test split: logits, for the per-class scores and the confusion matrix.
        metrics: The final metrics with `eval_` (validation) and `test_` prefixes.
        run_config: `{"model": asdict(ModelArguments), "data": asdict(DataArguments)}` of the run.
    """
    model, args, state = trainer.model, trainer.args, trainer.state
    config = model.config
    history = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, TrainingHistoryCallback)).history
    labels = [config.id2label[index] for index in range(config.num_labels)]
    multi_label = is_multi_label(data) or config.problem_type == MULTI_LABEL
    logits = test_output.predictions[0] if isinstance(test_output.predictions, tuple) else test_output.predictions
    threshold = float(config.multi_label_threshold) if multi_label else None
    if multi_label:
        references = np.asarray(test_output.label_ids)
        if references.ndim == 2:
            references = (references > 0.5).astype(np.int64)
        else:
            references = multi_hot(data["test"]["label"], len(labels))
        scores = per_label_scores(references, (sigmoid(logits) >= threshold).astype(np.int64))
        matrix = None
    else:
        matrix = confusion_matrix(test_output.label_ids, np.argmax(logits, axis=-1), len(labels))
        scores = per_class_scores(matrix)
    model_args = run_config["model"]
    selected_step = state.best_global_step if args.load_best_model_at_end and state.best_global_step else None
    arguments = args.to_dict()  # enums as their values
    training = {name: arguments[name] for name in TRAINING_ARGUMENTS if name in arguments}
    if "class_weights" in arguments:  # `balanced` or a file: its name only
        training["class_weights"] = _base_name(arguments["class_weights"]) if arguments["class_weights"] else None
    teacher = arguments.get("teacher") or arguments.get("teacher_soft_labels")
    if teacher:
        training["distilled_from"] = _public_name(teacher)
        training.update({name: arguments[name] for name in DISTILLATION_ARGUMENTS})
    training.update(
        epochs_trained=short_epoch(state.epoch),
        selected_epoch=next((entry["epoch"] for entry in history if entry["step"] == selected_step), None),
        train_runtime_seconds=metrics.get("train_runtime"),
    )
    dataset = dataset_summary(data_args)
    class_weights = getattr(config, "class_weights", None)
    card_data = RecurrentModelCardData(
        model_id=getattr(trainer, "hub_model_id", None) or args.hub_model_id or Path(args.output_dir).resolve().name,
        architecture=type(model).__name__,
        family=next(
            name
            for name, (config_class, _, _) in ARCHITECTURES.items()
            if config_class.model_type == config.model_type
        ),
        hyperparameters=model_hyperparameters(config),
        num_parameters=model.num_parameters(),
        labels=labels,
        problem_type=MULTI_LABEL if multi_label else SINGLE_LABEL,
        data_columns=data_columns(config, data_args),
        dataset=dataset,
        split_sizes={split: len(rows) for split, rows in data.items()},
        tokenizer={
            "type": model_args["tokenizer_type"],
            "vocabulary_size": len(trainer.processing_class),
            **{key: model_args[key] for key in ("min_frequency", "lowercase", "max_length")},
            **_pretrained_embeddings(model_args),
        },
        training=training,
        history=history,
        results={
            split: _split_scores(metrics, prefix, len(data[split]))
            for split, prefix in (("validation", "eval"), ("test", "test"))
        },
        per_class=[
            {"label": label, **{key: scores[key][index].item() for key in ("precision", "recall", "f1", "support")}}
            for index, label in enumerate(labels)
        ],
        confusion_matrix=matrix.tolist() if matrix is not None else None,
        widget=widget_examples(data["validation"]["text"], data["validation"]["label"]),
        versions=library_versions(),
        class_weights=[float(weight) for weight in class_weights] if class_weights is not None else None,
        threshold=threshold,
    )
    card_data.language = "en" if card_data.is_trec else None
    return card_data


def _write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Call `write(temporary path)` beside `path`, then move it into place: `path` is old or new, never partial."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _write_bytes(content: bytes) -> Callable[[str], None]:
    def write(temporary: str) -> None:
        with open(temporary, "wb") as handle:
            handle.write(content)

    return write


def write_model_card(card_data: RecurrentModelCardData, directory: str | os.PathLike) -> Path:
    """
    Write `results.json`, the two plots and `README.md` into `directory` (each file atomically: a temporary file moved
    into place) and return the card's path. A test-split image of the other kind (confusion matrix or F1 per label)
    left by an earlier run is removed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    results = json.dumps(card_data.to_dict(), indent=2) + "\n"
    _write_atomically(directory / RESULTS_FILENAME, _write_bytes(results.encode("utf-8")))
    _write_atomically(directory / TRAINING_CURVE_FILENAME, lambda path: plot_training_curve(card_data, path))
    plot_scores = plot_per_label_f1 if card_data.multi_label else plot_confusion_matrix
    _write_atomically(directory / card_data.scores_image, lambda path: plot_scores(card_data, path))
    _write_atomically(directory / CARD_FILENAME, _write_bytes(str(card_data.render()).encode("utf-8")))
    stale = CONFUSION_MATRIX_FILENAME if card_data.multi_label else PER_LABEL_F1_FILENAME
    with contextlib.suppress(OSError):
        (directory / stale).unlink()
    return directory / CARD_FILENAME


def regenerate_model_card(model_dir: str | os.PathLike) -> Path:
    """Rewrite the card and plots of a saved model directory from its `results.json`; return the card's path."""
    return write_model_card(RecurrentModelCardData.load(model_dir), model_dir)


def card_files(model_dir: str | os.PathLike) -> tuple[str, ...]:
    """
    The card files of a model directory: `MULTI_LABEL_CARD_FILES` when its `results.json` says multi-label, else
    `CARD_FILES` (also when `results.json` is missing or unreadable: the caller then reports it).
    """
    try:
        content = json.loads((Path(model_dir) / RESULTS_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return CARD_FILES
    multi = isinstance(content, dict) and content.get("problem_type") == MULTI_LABEL
    return MULTI_LABEL_CARD_FILES if multi else CARD_FILES
