"""
Model cards generated from a real training run: the card data, the per-epoch history, the plots and the README.

The card is rendered from `model_card_template.md` (shipped inside the package, next to this module, as SetFit does)
with `huggingface_hub.ModelCard.from_template`. Everything it states is kept in `results.json` beside it, so the card
and its plots can be regenerated for a saved model directory (`hf-rnn card`) without the data or the checkpoints.
Rendering never calls the Hub.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import DatasetDict
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from transformers import Trainer, TrainerCallback
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import PredictionOutput

from . import ARCHITECTURES
from .configuration_hf_rnn import RecurrentConfig
from .metrics import confusion_matrix, per_class_scores

CARD_FILENAME = "README.md"
RESULTS_FILENAME = "results.json"
TRAINING_CURVE_FILENAME = "training_curve.png"
CONFUSION_MATRIX_FILENAME = "confusion_matrix.png"
#: What a model card consists of, in a model directory and in a Hub repo.
CARD_FILES = (CARD_FILENAME, TRAINING_CURVE_FILENAME, CONFUSION_MATRIX_FILENAME, RESULTS_FILENAME)
TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")

#: Distributions whose versions the card lists.
LIBRARIES = ("hf_rnn", "transformers", "torch", "tokenizers", "datasets", "huggingface_hub", "accelerate", "numpy")
#: Training arguments the card reports.
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
    "seed",
)
WIDGET_EXAMPLES = 5


def _epoch(epoch: float | None) -> float | int:
    """An epoch count as a short number: 2 rather than 2.0, 1.5 rather than 1.4999999."""
    epoch = round(epoch or 0.0, 4)
    return int(epoch) if epoch.is_integer() else epoch


class TrainingHistoryCallback(TrainerCallback, ExportableState):
    """
    Records, for every epoch, the training loss and accuracy and the validation loss and accuracy.

    The training figures are running averages: a forward hook on the model counts the loss and the correct predictions
    of every training batch, so they cover the same batches as the Trainer's logged training loss (dropout on, weights
    changing within the epoch) and cost no extra forward pass. A separate evaluation of the train split after each
    epoch would add about a third of an epoch's time to every epoch; the running accuracy instead trails the
    end-of-epoch model by about half an epoch, which the card says. The history is part of the callback's exportable
    state, so it is saved in every checkpoint and restored when training resumes.
    """

    def __init__(self):
        self.history: list[dict[str, float]] = []
        self._hook = None
        self._reset_counts()

    def state(self) -> dict:
        return {"args": {}, "attributes": {"history": self.history}}

    def _reset_counts(self) -> None:
        self._loss_sum, self._correct, self._seen = 0.0, 0, 0

    def _count(self, module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        labels = kwargs.get("labels")
        if module.training and labels is not None and getattr(output, "loss", None) is not None:
            with torch.no_grad():
                self._loss_sum += float(output.loss) * labels.shape[0]
                self._correct += int((output.logits.argmax(dim=-1) == labels).sum())
            self._seen += labels.shape[0]

    def _record(self, state) -> dict[str, float]:
        """The history entry of the current step, created if needed."""
        if not self.history or self.history[-1]["step"] != state.global_step:
            self.history.append(
                {"epoch": _epoch(state.epoch), "step": state.global_step}
                | dict.fromkeys(("train_loss", "train_accuracy", "validation_loss", "validation_accuracy"))
            )
        return self.history[-1]

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        stored = state.stateful_callbacks.get(type(self).__name__) if state.global_step > 0 else None
        self.history = list(stored["attributes"]["history"]) if isinstance(stored, dict) else []
        self._reset_counts()
        self._hook = model.register_forward_hook(self._count, with_kwargs=True)

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._seen:
            record = self._record(state)
            record["train_loss"] = self._loss_sum / self._seen
            record["train_accuracy"] = self._correct / self._seen
        self._reset_counts()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._hook is None:  # an evaluation after training is not part of the history
            return
        record = self._record(state)
        record["validation_loss"] = metrics.get("eval_loss")
        record["validation_accuracy"] = metrics.get("eval_accuracy")

    def on_train_end(self, args, state, control, **kwargs):
        self._hook.remove()
        self._hook = None


@dataclass
class RNNModelCardData:
    """
    Everything a model card states, gathered from a training run and saved as `results.json` next to the card.

    Args:
        model_id: Hub repo id of the model, or the name of its directory before it is pushed.
        architecture: Class name, e.g. `"LSTMForSequenceClassification"`.
        family: `"rnn"`, `"gru"` or `"lstm"`.
        hyperparameters: Every hyperparameter of the model configuration.
        num_parameters: Number of parameters of the model.
        labels: Label names in id order.
        label_column: `"coarse_label"` or `"fine_label"`.
        dataset: Where the data came from: `id` (Hub id or file name), the `train_file` and `test_file` names (no
            directories), and the split settings.
        split_sizes: Questions per split.
        tokenizer: Tokenizer settings and vocabulary size.
        training: Training arguments, epochs run and the selected epoch.
        history: Per-epoch training and validation loss and accuracy (see `TrainingHistoryCallback`).
        results: Per split (`validation`, `test`): `accuracy`, `macro_f1`, `loss`, `samples`.
        per_class: Per test-split class: `label`, `precision`, `recall`, `f1`, `support`.
        confusion_matrix: Test-split counts, rows the true and columns the predicted labels.
        widget: Example questions from the validation split.
        versions: Python and library versions used for training.
        license: License of the model.
        language: Language of the questions.
    """

    model_id: str
    architecture: str
    family: str
    hyperparameters: dict[str, Any]
    num_parameters: int
    labels: list[str]
    label_column: str
    dataset: dict[str, Any]
    split_sizes: dict[str, int]
    tokenizer: dict[str, Any]
    training: dict[str, Any]
    history: list[dict[str, float]]
    results: dict[str, dict[str, float]]
    per_class: list[dict[str, Any]]
    confusion_matrix: list[list[int]]
    widget: list[str]
    versions: dict[str, str]
    license: str = "apache-2.0"
    language: str = "en"

    @property
    def granularity(self) -> str:
        """`"coarse"` (6 classes) or `"fine"` (50 classes)."""
        return "coarse" if self.label_column == "coarse_label" else "fine"

    def dataset_description(self) -> str:
        """How the splits were made, in one sentence."""
        source, data = self.dataset["id"], self.dataset
        if data.get("test_file"):
            return (
                f"train and validation split {1 - data['validation_fraction']:.0%}/{data['validation_fraction']:.0%} "
                f"from `{source}`; test is `{data['test_file']}`"
            )
        if data.get("train_file"):
            fractions = (1 - data["validation_fraction"] - data["test_fraction"], data["validation_fraction"])
            return (
                f"train, validation and test split {fractions[0]:.0%}/{fractions[1]:.0%}/{data['test_fraction']:.0%} "
                f"from `{source}` (the test split is held out from that file, not the official TREC-10 test set)"
            )
        return (
            f"train and validation split {1 - data['validation_fraction']:.0%}/{data['validation_fraction']:.0%} "
            f"from the train split of `{source}`; test is its test split (TREC-10)"
        )

    def metadata(self) -> ModelCardData:
        """
        The YAML header: library, task, tags, data, metrics, `model-index` from the results and `widget`. The library
        is `transformers` (the model loads with its Auto classes; with the `custom_code` tag the Hub shows the
        `trust_remote_code=True` snippet); `hf_rnn` is not a library the Hub knows.
        """
        eval_results = []
        for split, scores in self.results.items():
            common = {
                "task_type": "text-classification",
                "task_name": f"Question classification ({self.granularity}, {len(self.labels)} classes)",
                "dataset_type": self.dataset["id"],
                "dataset_name": f"TREC question classification ({self.dataset['id']})",
                "dataset_split": split,
            }
            eval_results.append(
                EvalResult(
                    **common,
                    metric_type="accuracy",
                    metric_value=scores["accuracy"],
                    metric_name=f"{split.capitalize()} accuracy",
                )
            )
            eval_results.append(
                EvalResult(
                    **common,
                    metric_type="f1",
                    metric_value=scores["macro_f1"],
                    metric_name=f"{split.capitalize()} macro F1",
                    metric_args={"average": "macro"},
                )
            )
        return ModelCardData(
            language=self.language,
            license=self.license,
            library_name="transformers",
            pipeline_tag="text-classification",
            tags=["hf_rnn", self.family, "recurrent-neural-network", "question-classification", "trec", "custom_code"],
            datasets=[self.dataset["id"]],
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
            confusion_matrix_image=CONFUSION_MATRIX_FILENAME,
            results_file=RESULTS_FILENAME,
        )

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> RNNModelCardData:
        """Read `results.json` of a model directory."""
        path = Path(model_dir) / RESULTS_FILENAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: cards are generated from the results that `hf-rnn train` writes there."
            )
        return cls(**json.loads(path.read_text(encoding="utf-8")))


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
    ]
    return {**{name: getattr(config, name) for name in dict.fromkeys(names)}, "num_labels": config.num_labels}


def widget_examples(questions: list[str], labels: list[int], count: int = WIDGET_EXAMPLES) -> list[str]:
    """The first question of each of the first `count` labels met, in order (varied, reproducible examples)."""
    seen, examples = set(), []
    for question, label in zip(questions, labels):
        if label not in seen and len(examples) < count:
            seen.add(label)
            examples.append(question)
    return examples


def build_card_data(
    trainer: Trainer,
    data: DatasetDict,
    label_column: str,
    test_output: PredictionOutput,
    metrics: dict[str, float],
    run_config: dict[str, dict[str, Any]],
) -> RNNModelCardData:
    """
    Gather the card data of a finished run.

    Args:
        trainer: The Trainer after training, holding the selected model and a `TrainingHistoryCallback`.
        data: The raw splits (`train`, `validation`, `test`).
        label_column: The label the model learnt.
        test_output: `trainer.predict` on the test split (for the per-class scores and confusion matrix).
        metrics: The final metrics with `eval_` (validation) and `test_` prefixes.
        run_config: `{"model": asdict(ModelArguments), "data": asdict(DataArguments)}` of the run.
    """
    model, args, state = trainer.model, trainer.args, trainer.state
    history = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, TrainingHistoryCallback)).history
    labels = [model.config.id2label[index] for index in range(model.config.num_labels)]
    matrix = confusion_matrix(test_output.label_ids, np.argmax(test_output.predictions, axis=-1), len(labels))
    scores = per_class_scores(matrix)
    model_args, data_args = run_config["model"], run_config["data"]
    selected_step = state.best_global_step if args.load_best_model_at_end and state.best_global_step else None
    arguments = args.to_dict()  # enums as their values
    training = {name: arguments.get(name) for name in TRAINING_ARGUMENTS}
    training.update(
        epochs_trained=_epoch(state.epoch),
        selected_epoch=next((entry["epoch"] for entry in history if entry["step"] == selected_step), None),
        train_runtime_seconds=metrics.get("train_runtime"),
    )
    # file names only: a card is public, the local paths are not
    train_file, test_file = (
        data_args[key] and os.path.basename(data_args[key]) for key in ("train_file", "test_file")
    )
    return RNNModelCardData(
        model_id=args.hub_model_id or Path(args.output_dir).resolve().name,
        architecture=type(model).__name__,
        family=next(
            name
            for name, (config_class, _, _) in ARCHITECTURES.items()
            if config_class.model_type == model.config.model_type
        ),
        hyperparameters=model_hyperparameters(model.config),
        num_parameters=model.num_parameters(),
        labels=labels,
        label_column=label_column,
        dataset={
            "id": train_file or data_args["dataset_name"],
            "train_file": train_file,
            "test_file": test_file,
            **{key: data_args[key] for key in ("validation_fraction", "test_fraction", "split_seed")},
        },
        split_sizes={split: len(rows) for split, rows in data.items()},
        tokenizer={
            "type": model_args["tokenizer_type"],
            "vocabulary_size": len(trainer.processing_class),
            **{key: model_args[key] for key in ("min_frequency", "lowercase", "max_length")},
        },
        training=training,
        history=history,
        results={
            split: {
                "accuracy": metrics[f"{prefix}_accuracy"],
                "macro_f1": metrics[f"{prefix}_macro_f1"],
                "loss": metrics[f"{prefix}_loss"],
                "samples": len(data[split]),
            }
            for split, prefix in (("validation", "eval"), ("test", "test"))
        },
        per_class=[
            {"label": label, **{key: scores[key][index].item() for key in ("precision", "recall", "f1", "support")}}
            for index, label in enumerate(labels)
        ],
        confusion_matrix=matrix.tolist(),
        widget=widget_examples(data["validation"]["text"], data["validation"][label_column]),
        versions=library_versions(),
    )


def plot_training_curve(card_data: RNNModelCardData, path: str | os.PathLike) -> None:
    """Loss and accuracy per epoch, training (running average over the epoch) and validation, as a PNG."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(figure)
    selected = card_data.training.get("selected_epoch")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        for split, style in (("train", "o--"), ("validation", "s-")):
            points = [
                (entry["epoch"], entry[f"{split}_{metric}"])
                for entry in card_data.history
                if entry.get(f"{split}_{metric}") is not None
            ]
            if points:
                axes.plot(*zip(*points), style, label="train (running)" if split == "train" else split)
        if selected is not None:
            axes.axvline(selected, color="grey", linestyle=":", label="selected epoch")
        axes.set(xlabel="epoch", ylabel=metric, title=metric.capitalize())
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(f"{card_data.model_id} ({card_data.architecture})")
    figure.savefig(path, dpi=100)


def plot_confusion_matrix(card_data: RNNModelCardData, path: str | os.PathLike) -> None:
    """The test-split confusion matrix (rows true, columns predicted), with counts written in when it is small."""
    matrix = np.asarray(card_data.confusion_matrix)
    size = len(card_data.labels)
    side = max(5.0, 0.28 * size + 2.0)
    figure = Figure(figsize=(side, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    font = 9 if size <= 12 else 6
    axes.set_xticks(range(size), card_data.labels, rotation=90, fontsize=font)
    axes.set_yticks(range(size), card_data.labels, fontsize=font)
    axes.set(xlabel="predicted label", ylabel="true label")
    axes.set_title(f"{card_data.model_id}: test split, {matrix.sum()} questions")
    if size <= 12:
        for (row, column), count in np.ndenumerate(matrix):
            color = "white" if count > matrix.max() / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=color, fontsize=font)
    figure.savefig(path, dpi=100)


def write_model_card(card_data: RNNModelCardData, directory: str | os.PathLike) -> Path:
    """Write `results.json`, the two plots and `README.md` into `directory`; return the card's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RESULTS_FILENAME).write_text(json.dumps(dataclasses.asdict(card_data), indent=2) + "\n", "utf-8")
    plot_training_curve(card_data, directory / TRAINING_CURVE_FILENAME)
    plot_confusion_matrix(card_data, directory / CONFUSION_MATRIX_FILENAME)
    card_data.render().save(directory / CARD_FILENAME)
    return directory / CARD_FILENAME


def regenerate_model_card(model_dir: str | os.PathLike) -> Path:
    """Rewrite the card and plots of a saved model directory from its `results.json`; return the card's path."""
    return write_model_card(RNNModelCardData.load(model_dir), model_dir)
