"""
The data of a model card, `RecurrentModelCardData`: everything the card states, as a dict for `results.json` and read
back from that file, and the card rendered from it. `hf_rnn.model_card` gathers it from a run and writes the files.

The card is rendered from `model_card_template.md` (shipped inside the package, next to this module, as SetFit does)
with `huggingface_hub.ModelCard.from_template`; rendering never calls the Hub. TREC wording (question classes, the
TREC description, citation and tags) is used only when the data is TREC: a Li & Roth `.label` training file or the
`CogComp/trec` Hub dataset.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from jinja2 import TemplateError

from .data import trec as trec_data

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
