"""
Model cards generated from a real training run: the card data, the per-epoch history, the plots and the README.

The card is rendered from `model_card_template.md` (shipped inside the package, next to this module, as SetFit does)
with `huggingface_hub.ModelCard.from_template`. Everything it states is kept in `results.json` beside it, so the card
and its plots can be regenerated for a saved model directory (`hf-rnn card`) without the data or the checkpoints.
Rendering never calls the Hub.

The card follows the data: it names the Hub dataset, the files or the local dataset folder the model was trained on,
the columns and the label set, and whether the model is single-label (softmax, a confusion matrix) or multi-label
(sigmoid and a decision threshold, F1 per label). TREC wording (question classes, the TREC description, citation and
tags) is used only when the data is TREC: a Li & Roth `.label` training file or the `CogComp/trec` Hub dataset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from jinja2 import TemplateError
from transformers import Trainer
from transformers.trainer_utils import PredictionOutput

from . import ARCHITECTURES
from .card_plots import plot_confusion_matrix, plot_per_label_f1, plot_training_curve
from .configuration_hf_rnn import RecurrentConfig
from .data import is_multi_label
from .data import trec as trec_data
from .metrics import confusion_matrix, multi_hot, per_class_scores, per_label_scores, sigmoid
from .training_history import TrainingHistoryCallback, short_epoch

CARD_FILENAME = "README.md"
RESULTS_FILENAME = "results.json"
TRAINING_CURVE_FILENAME = "training_curve.png"
CONFUSION_MATRIX_FILENAME = "confusion_matrix.png"
PER_LABEL_F1_FILENAME = "per_label_f1.png"
#: What the card of a single-label model consists of, in a model directory and in a Hub repo.
CARD_FILES = (CARD_FILENAME, TRAINING_CURVE_FILENAME, CONFUSION_MATRIX_FILENAME, RESULTS_FILENAME)
#: The same for a multi-label model: F1 per label instead of a confusion matrix.
MULTI_LABEL_CARD_FILES = (CARD_FILENAME, TRAINING_CURVE_FILENAME, PER_LABEL_F1_FILENAME, RESULTS_FILENAME)
TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")

SINGLE_LABEL = "single_label_classification"
MULTI_LABEL = "multi_label_classification"
#: Hub ids of the TREC question classification dataset (lowercase).
TREC_DATASET_IDS = (trec_data.HUB_DATASET.lower(), "trec")

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


class CardDataError(ValueError):
    """A `results.json` that cannot be read as card data; the message is one line that names the file."""


@dataclass
class RecurrentModelCardData:
    """
    Everything a model card states, gathered from a training run and saved as `results.json` next to the card.

    Args:
        model_id: Hub repo id of the model, or the name of its directory before it is pushed.
        architecture: Class name, e.g. `"LSTMForSequenceClassification"`.
        family: `"rnn"`, `"gru"` or `"lstm"`.
        hyperparameters: Every hyperparameter of the model configuration (not the data fields, `DATA_CONFIG_FIELDS`).
        num_parameters: Number of parameters of the model.
        labels: Label names in id order.
        problem_type: `"single_label_classification"` or `"multi_label_classification"`.
        data_columns: `{"text": [columns] or None (the loader's default), "label": column, "delimiter": str}`.
        dataset: Where the data came from: `source` (`"hub"`, `"local_dataset"` or `"files"`), `id` (the Hub id, the
            local folder's base name or the training file's name), `hub_id` (the Hub id when the training data came
            from the Hub, else None), `dataset_name` (`--dataset_name`, a local folder by its base name),
            `config_name`, the `train_file`, `validation_file` and `test_file` names (never directories),
            `cut_splits` (the splits cut from the training data; None when unknown) and the split settings.
        split_sizes: Texts per split.
        tokenizer: Tokenizer settings and vocabulary size.
        training: Training arguments, epochs run and the selected epoch.
        history: Per-epoch training and validation loss and accuracy (see `TrainingHistoryCallback`).
        results: Per split (`validation`, `test`): `accuracy`, `macro_f1`, `loss`, `samples`, and where measured
            `micro_f1`, `weighted_f1`, `subset_accuracy` (multi-label: `accuracy` is the subset accuracy).
        per_class: Per test-split label: `label`, `precision`, `recall`, `f1`, `support` (multi-label: from the
            multi-hot predictions at `threshold`).
        confusion_matrix: Test-split counts, rows the true and columns the predicted labels; None for multi-label.
        widget: Example texts from the validation split.
        versions: Python and library versions used for training.
        class_weights: Loss weight of each label (the config's `class_weights`), None when not weighted.
        threshold: Multi-label decision threshold (the config's `multi_label_threshold`), None for single-label.
        license: License of the model.
        language: Language of the texts, when known (`"en"` for TREC), else None.
    """

    model_id: str
    architecture: str
    family: str
    hyperparameters: dict[str, Any]
    num_parameters: int
    labels: list[str]
    problem_type: str
    data_columns: dict[str, Any]
    dataset: dict[str, Any]
    split_sizes: dict[str, int]
    tokenizer: dict[str, Any]
    training: dict[str, Any]
    history: list[dict[str, float]]
    results: dict[str, dict[str, float]]
    per_class: list[dict[str, Any]]
    confusion_matrix: list[list[int]] | None
    widget: list[str]
    versions: dict[str, str]
    class_weights: list[float] | None = None
    threshold: float | None = None
    license: str = "apache-2.0"
    language: str | None = "en"

    @property
    def multi_label(self) -> bool:
        """Whether the model predicts label sets."""
        return self.problem_type == MULTI_LABEL

    @property
    def is_trec(self) -> bool:
        """Whether the model was trained on TREC: a Li & Roth `.label` training file, or the TREC Hub dataset."""
        train_file = self.dataset.get("train_file")
        if train_file:
            return trec_data.is_label_file(train_file)
        return (self.dataset.get("hub_id") or "").lower() in TREC_DATASET_IDS

    @property
    def granularity(self) -> str | None:
        """TREC only: `"coarse"` (6 classes) or `"fine"` (50 classes); None for other data."""
        if not self.is_trec:
            return None
        column = self.data_columns.get("label")
        if column not in trec_data.LABEL_COLUMNS:
            try:
                column = trec_data.label_column_for(self.labels)
            except ValueError:
                return None
        return "coarse" if column == "coarse_label" else "fine"

    @property
    def card_files(self) -> tuple[str, ...]:
        """The files of this card: README, training curve, confusion matrix or F1 per label, results."""
        return MULTI_LABEL_CARD_FILES if self.multi_label else CARD_FILES

    @property
    def scores_image(self) -> str:
        """The test-split image: the confusion matrix, or for multi-label the F1 per label."""
        return PER_LABEL_F1_FILENAME if self.multi_label else CONFUSION_MATRIX_FILENAME

    @property
    def dataset_display_name(self) -> str:
        """The data as the model index names it."""
        if self.is_trec:
            return f"TREC question classification ({self.dataset['id']})"
        return self.dataset["id"]

    @property
    def task_name(self) -> str:
        if self.is_trec and self.granularity:
            return f"Question classification ({self.granularity}, {len(self.labels)} classes)"
        if self.multi_label:
            return f"Multi-label text classification ({len(self.labels)} labels)"
        return f"Text classification ({len(self.labels)} classes)"

    def dataset_description(self) -> str:
        """Where each split comes from, in one sentence (file names only)."""
        data = self.dataset
        source = data["id"]
        validation, test = data["validation_fraction"], data["test_fraction"]
        files = {split: data.get(f"{split}_file") for split in ("train", "validation", "test")}
        cut = data.get("cut_splits")
        rest = [split for split in ("validation", "test") if not files[split]]
        rest_shares = ", ".join(f"{split} {data[f'{split}_fraction']:.0%}" for split in rest)
        if (data.get("source") == "files" or files["train"]) and cut is None and data.get("dataset_name"):
            given = [f"{split} is `{files[split]}`" for split in ("train", "validation", "test") if files[split]]
            return "; ".join(given) + (
                f"; {' and '.join(rest)} from `{data['dataset_name']}`, or cut from the training data where it has no "
                f"such split ({rest_shares})"
                if rest
                else ""
            )
        if data.get("source") == "files" or files["train"]:
            cut = cut if cut is not None else [split for split in ("validation", "test") if not files[split]]
            if not cut:
                return f"train is `{files['train']}`, validation is `{files['validation']}`, test is `{files['test']}`"
            if len(cut) == 2:
                shares = f"{1 - validation - test:.0%}/{validation:.0%}/{test:.0%}"
                text = f"train, validation and test split {shares} from `{source}`"
                if self.is_trec:
                    text += " (the test split is held out from that file, not the official TREC-10 test set)"
                return text
            if cut == ["validation"]:
                return f"train and validation split {1 - validation:.0%}/{validation:.0%} from `{source}`; " + (
                    f"test is `{files['test']}`"
                )
            return (
                f"train and test split {1 - test:.0%}/{test:.0%} from `{source}`; "
                f"validation is `{files['validation']}`"
            )
        given = [f"{split} is `{files[split]}`" for split in ("validation", "test") if files[split]]
        if self.is_trec and cut == ["validation"]:
            text = (
                f"train and validation split {1 - validation:.0%}/{validation:.0%} from the train split of `{source}`"
            )
            return text + "; " + ("; ".join(given) if given else "test is its test split (TREC-10)")
        config = f" (configuration `{data['config_name']}`)" if data.get("config_name") else ""
        text = f"the splits of `{source}`{config}"
        if given:
            text += ", except: " + "; ".join(given)
        if cut:
            shares = {"validation": validation, "test": test}
            text += "; cut from its train split, as it has none: " + ", ".join(
                f"{split} ({shares[split]:.0%})" for split in cut
            )
        elif cut is None and rest:
            text += f"; a {' or '.join(rest)} split the dataset lacks is cut from its train split ({rest_shares})"
        return text

    def metadata(self) -> ModelCardData:
        """
        The YAML header: library, task, tags, data, metrics, `model-index` from the results and `widget`. The library
        is `transformers` (the model loads with its Auto classes; with the `custom_code` tag the Hub shows the
        `trust_remote_code=True` snippet); `hf_rnn` is not a library the Hub knows. `datasets` names the Hub dataset
        only: a file or a local folder is not a Hub id.
        """
        hub_id = self.dataset.get("hub_id")
        eval_results = []
        for split, scores in self.results.items():
            common = {
                "task_type": "text-classification",
                "task_name": self.task_name,
                "dataset_type": hub_id or self.dataset["id"],
                "dataset_name": self.dataset_display_name,
                "dataset_config": self.dataset.get("config_name") if hub_id else None,
                "dataset_split": split,
            }
            name = split.capitalize()
            if self.multi_label:
                entries = [
                    ("f1", scores["micro_f1"], f"{name} micro F1", {"average": "micro"}),
                    ("f1", scores["macro_f1"], f"{name} macro F1", {"average": "macro"}),
                    ("accuracy", scores.get("subset_accuracy", scores["accuracy"]), f"{name} subset accuracy", None),
                ]
            else:
                entries = [
                    ("accuracy", scores["accuracy"], f"{name} accuracy", None),
                    ("f1", scores["macro_f1"], f"{name} macro F1", {"average": "macro"}),
                ]
            eval_results.extend(
                EvalResult(**common, metric_type=kind, metric_value=value, metric_name=label, metric_args=arguments)
                for kind, value, label, arguments in entries
            )
        tags = ["hf_rnn", self.family, "recurrent-neural-network"]
        if self.is_trec:
            tags += ["question-classification", "trec"]
        if self.multi_label:
            tags.append("multi-label-classification")
        return ModelCardData(
            language=self.language,
            license=self.license,
            library_name="transformers",
            pipeline_tag="text-classification",
            tags=[*tags, "custom_code"],
            datasets=[hub_id] if hub_id else None,
            metrics=["accuracy", "f1"],
            model_name=self.model_id,
            eval_results=eval_results,
            widget=[{"text": text} for text in self.widget],
        )

    def render(self, template_path: str | os.PathLike = TEMPLATE_PATH) -> ModelCard:
        """The card rendered from the Jinja template (default: the package's template)."""
        return ModelCard.from_template(
            self.metadata(),
            template_path=str(template_path),
            card=self,
            dataset_description=self.dataset_description(),
            training_curve=TRAINING_CURVE_FILENAME,
            scores_image=self.scores_image,
            results_file=RESULTS_FILENAME,
            examples=[_python_string(text) for text in self.widget[:2]],
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, content: Mapping[str, Any]) -> RecurrentModelCardData:
        """Card data from the content of a `results.json`, this version's or the previous one's (`label_column`)."""
        content = _upgrade(dict(content))
        known = {field.name for field in dataclasses.fields(cls)}
        required = {field.name for field in dataclasses.fields(cls) if field.default is dataclasses.MISSING}
        unknown, missing = sorted(set(content) - known), sorted(required - set(content))
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
        if unknown:
            raise ValueError(f"unknown fields {', '.join(unknown)}, written by a newer hf_rnn?")
        return cls(**content)

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> RecurrentModelCardData:
        """
        Read `results.json` of a model directory.

        Raises:
            `FileNotFoundError`: There is no `results.json`.
            `CardDataError`: It is empty, not JSON, or not card data (one line naming the file).
        """
        path = Path(model_dir) / RESULTS_FILENAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: cards are generated from the results that `hf-rnn train` writes there."
            )
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(content, dict):
                raise TypeError(f"a JSON {type(content).__name__}, not an object")
            card_data = cls.from_dict(content)
            card_data.render()  # every field the card needs is there, of a kind it can show
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, TemplateError) as error:
            if isinstance(error, json.JSONDecodeError):
                reason = "empty" if not error.doc.strip() else f"not valid JSON ({error.msg}, line {error.lineno})"
            else:
                detail = f"no {error.args[0]!r}" if isinstance(error, KeyError) else " ".join(str(error).split())[:200]
                reason = f"not the card data hf_rnn writes ({detail})"
            raise CardDataError(
                f"{path} is {reason}: train the model again to rewrite it, or restore it from a copy."
            ) from None
        return card_data


def _python_string(text: str) -> str:
    """`text` as a double-quoted Python string literal (quotes, backslashes and control characters escaped)."""
    return json.dumps(text, ensure_ascii=False)


def _upgrade(content: dict[str, Any]) -> dict[str, Any]:
    """Map a `results.json` of the previous version (TREC only, `label_column`) to the current fields."""
    if "label_column" not in content or "problem_type" in content:
        return content
    label_column = content.pop("label_column")
    content["problem_type"] = SINGLE_LABEL
    content["data_columns"] = {"text": ["text"], "label": label_column, "delimiter": " "}
    dataset = dict(content.get("dataset") or {})
    if dataset.get("train_file"):  # a Li & Roth file, its validation split (and test split, without a test file) cut
        cut = ["validation"] if dataset.get("test_file") else ["validation", "test"]
        dataset.update(source="files", hub_id=None, cut_splits=cut)
    else:  # the TREC Hub dataset: validation cut from its train split
        dataset.update(source="hub", hub_id=dataset.get("id"), cut_splits=["validation"])
    dataset.setdefault("validation_file", None)
    dataset.setdefault("config_name", None)
    content["dataset"] = dataset
    return content


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
    """Where the tokenizer and input embeddings came from (`--embeddings_from`, no local path), if not trained here."""
    source = model_args.get("embeddings_from")
    if not source:
        return {}
    summary = {"pretrained_from": _public_name(source), "frozen": bool(model_args.get("freeze_embeddings"))}
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
