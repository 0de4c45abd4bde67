"""Training with `transformers.Trainer`: prepare data and tokenizer, build the model and trainer, train and save."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from datasets import DatasetDict
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    PreTrainedTokenizerBase,
    set_seed,
)

from . import ARCHITECTURES
from .data import is_multi_label, label_names
from .distillation import Augmentation, distillation_set
from .inference import load_classifier
from .metrics import build_compute_metrics, multi_hot, sigmoid, tune_threshold
from .modeling_hf_rnn import RecurrentForSequenceClassification
from .pretrained_embeddings import copy_input_embeddings, load_pretrained_embeddings, principal_components
from .run_state import check_output_dir, check_same_run, run_fingerprint, write_run_fingerprint
from .threads import configure_threads
from .tokenization import train_tokenizer
from .trainer import RecurrentTrainer, last_complete_checkpoint, remove_checkpoints, save_final_model
from .training_args import (
    SHAPE_OPTIONS,
    TRAINING_OPTIONS,
    ArgumentError,
    DataArguments,
    ModelArguments,
    RecurrentTrainingArguments,
)
from .training_history import TrainingHistoryCallback

logger = logging.getLogger(__name__)


def class_weights_for(spec: str | None, data: DatasetDict) -> list[float] | None:
    """
    Loss weights per label: `None`, `"balanced"` (`n / (num_labels * count)` over the train split, as scikit-learn's
    `class_weight="balanced"`; a label absent from it weighs as if seen once) or a JSON file `{label name: weight}`
    naming every label.
    """
    if spec is None:
        return None
    names = label_names(data)
    if spec == "balanced":
        labels = data["train"]["label"]
        flat = [label for row in labels for label in row] if is_multi_label(data) else labels
        counts = np.bincount(np.asarray(flat, dtype=np.int64), minlength=len(names))
        return [float(len(labels) / (len(names) * max(count, 1))) for count in counts]
    try:
        with open(spec, encoding="utf-8") as handle:
            given = json.load(handle)
    except (OSError, ValueError) as error:
        raise ArgumentError(f"--class_weights {spec}: not a readable JSON file ({error}).") from None
    if not isinstance(given, dict):
        raise ArgumentError(f"--class_weights {spec}: expected a JSON object {{label: weight}}.")
    missing, unknown = sorted(set(names) - set(given)), sorted(set(given) - set(names))
    if missing or unknown:
        raise ArgumentError(
            f"--class_weights {spec}: labels missing {missing}, unknown {unknown}; labels are {names}."
        )
    weights = [given[name] for name in names]
    if not all(isinstance(weight, (int, float)) and weight > 0 for weight in weights):
        raise ArgumentError(f"--class_weights {spec}: every weight must be a positive number.")
    return [float(weight) for weight in weights]


def build_model(
    model_args: ModelArguments,
    tokenizer: PreTrainedTokenizerBase,
    data: DatasetDict,
    data_args: DataArguments,
    class_weights: list[float] | None = None,
    embeddings: torch.Tensor | None = None,
) -> RecurrentForSequenceClassification:
    """
    A new classifier sized for `tokenizer` and labelled with the labels of `data`: randomly initialised, or with its
    embedding layer copied from `embeddings` (a `(vocab_size, dim)` matrix, see `--embeddings_from`). Its config
    also records the problem type, the class weights and the data columns it was trained on.
    """
    config_class, _, classifier_class = ARCHITECTURES[model_args.model_type]
    config_kwargs = model_args.config_kwargs()
    vocab_size = len(tokenizer)
    if embeddings is not None:
        vocab_size, config_kwargs["embedding_dim"] = embeddings.shape
    names = label_names(data)
    config = config_class(
        vocab_size=vocab_size,
        pad_token_id=tokenizer.pad_token_id,
        unk_token_id=tokenizer.unk_token_id,
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        problem_type="multi_label_classification" if is_multi_label(data) else "single_label_classification",
        class_weights=class_weights,
        text_column_names=data_args.text_columns,
        text_column_delimiter=data_args.text_column_delimiter,
        label_column_name=data_args.label_column_name,
        **config_kwargs,
    )
    model = classifier_class(config)
    if embeddings is not None:
        copy_input_embeddings(model, embeddings, freeze=model_args.freeze_embeddings)
    return model


def tokenize_splits(data: DatasetDict, tokenizer: PreTrainedTokenizerBase, max_length: int) -> DatasetDict:
    """Token ids, attention mask and `labels` (multi-hot floats for multi-label data) for every split, unpadded."""
    num_labels, multi_label = len(label_names(data)), is_multi_label(data)

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        labels = batch["label"]
        encoded["labels"] = multi_hot(labels, num_labels).astype(np.float32).tolist() if multi_label else labels
        return encoded

    return data.map(encode, batched=True, remove_columns=data["train"].column_names, desc="Tokenising")


@dataclass
class PreparedRun:
    """
    What a training run needs before its first step: the splits, their encodings, the tokenizer, the loss weights,
    and the dataset the Trainer trains on (the encoded train split, or with `--teacher` its distillation set).
    """

    data: DatasetDict
    encoded: DatasetDict
    train_dataset: object
    tokenizer: PreTrainedTokenizerBase
    class_weights: list[float] | None = None
    pretrained_embeddings: torch.Tensor | None = None

    @property
    def multi_label(self) -> bool:
        """Whether the data holds label sets."""
        return is_multi_label(self.data)

    def model_init(self, model_args: ModelArguments, data_args: DataArguments) -> Callable[..., torch.nn.Module]:
        """A `Trainer` `model_init`: the saved model to fine-tune, or a new one built from `model_args`."""

        def model_init(trial=None) -> RecurrentForSequenceClassification:
            if model_args.model_name_or_path is not None:
                given = model_args.given_config_options()
                training_options = {name: value for name, value in given.items() if name in TRAINING_OPTIONS}
                model = AutoModelForSequenceClassification.from_pretrained(
                    model_args.model_name_or_path,
                    use_safetensors=True,
                    trust_remote_code=False,
                    **training_options,
                )
                for name in SHAPE_OPTIONS:
                    if name in given and getattr(model.config, name, None) != given[name]:
                        raise ArgumentError(
                            f"--{name} {given[name]}: --model_name_or_path {model_args.model_name_or_path} has "
                            f"{name}={getattr(model.config, name, None)!r}, and a saved model's shape cannot change."
                        )
                saved = [model.config.id2label[index] for index in range(len(model.config.id2label))]
                if saved != label_names(self.data):
                    raise ArgumentError(
                        f"--model_name_or_path {model_args.model_name_or_path} was trained on labels {saved}, but "
                        f"this data has labels {label_names(self.data)}."
                    )
                model.get_input_embeddings().weight.requires_grad_(not model_args.freeze_embeddings)
                return model
            return build_model(
                model_args, self.tokenizer, self.data, data_args, self.class_weights, self.pretrained_embeddings
            )

        return model_init


def prepare_run(
    model_args: ModelArguments, data_args: DataArguments, training_args: RecurrentTrainingArguments
) -> PreparedRun:
    """
    Set threads and seed, load the splits, get the tokenizer (trained on the train split only, taken from
    `--embeddings_from`, or the saved model's) and encode every split; with `--teacher`, add its soft labels to the
    train split.
    """
    configure_threads(training_args.num_threads)
    set_seed(training_args.seed)
    data = data_args.load_splits()
    multi_label = is_multi_label(data)
    distilled = training_args.teacher is not None or training_args.teacher_soft_labels is not None
    if multi_label and (distilled or training_args.balanced_sampling):
        option = "--teacher" if distilled else "--balanced_sampling"
        raise ArgumentError(f"{option} supports single-label data only; this data is multi-label.")
    if training_args.tune_threshold and not multi_label:
        raise ArgumentError("--tune_threshold applies to multi-label data only.")
    class_weights = class_weights_for(training_args.class_weights, data)

    pretrained_embeddings = None
    if model_args.model_name_or_path is not None:
        _, tokenizer = load_classifier(model_args.model_name_or_path)  # checked; hf_rnn code and safetensors only
    elif model_args.embeddings_from is not None:
        tokenizer, pretrained_embeddings = load_pretrained_embeddings(
            model_args.embeddings_from, model_args.embeddings_source
        )
        if model_args.embeddings_pca_dims is not None:
            try:
                pretrained_embeddings = principal_components(pretrained_embeddings, model_args.embeddings_pca_dims)
            except ValueError as error:
                raise ArgumentError(f"--embeddings_pca_dims: {error}") from None
    else:
        tokenizer = train_tokenizer(
            data["train"]["text"],
            tokenizer_type=model_args.tokenizer_type,
            vocab_size=model_args.vocab_size,
            min_frequency=model_args.min_frequency,
            lowercase=model_args.lowercase,
            model_max_length=model_args.max_length,
        )
    encoded = tokenize_splits(data, tokenizer, model_args.max_length)
    train_dataset = encoded["train"]
    if training_args.teacher is not None or training_args.teacher_soft_labels is not None:
        if training_args.distillation_replace_probability > 0 and model_args.embeddings_from is None:
            raise ArgumentError(
                "--distillation_replace_probability finds similar words in the --embeddings_from embeddings: "
                "give --embeddings_from too."
            )
        train_dataset, augmentation = distillation_set(
            train_dataset,
            list(data["train"]["text"]),
            tokenizer,
            label_names(data),
            max_length=model_args.max_length,
            teacher=training_args.teacher,
            soft_labels=training_args.teacher_soft_labels,
            augmentation=Augmentation(
                training_args.distillation_augment_copies,
                training_args.seed,
                training_args.distillation_replace_probability,
                model_args.embeddings_from,
            ),
            adjust=training_args.distillation_adjust_teacher,
        )
        for option, value in (
            ("distillation_augment_copies", augmentation.copies),
            ("distillation_replace_probability", augmentation.replace_probability),
        ):  # a soft-label file brings its own copies
            if getattr(training_args, option) not in (0, value):
                raise ArgumentError(
                    f"--{option} {getattr(training_args, option)}: the soft-label file "
                    f"{training_args.teacher_soft_labels} was written with {value}."
                )
            setattr(training_args, option, value)  # what the run used, for its card
        training_args.remove_unused_columns = False  # keep teacher_logits; the splits hold model inputs only
    return PreparedRun(data, encoded, train_dataset, tokenizer, class_weights, pretrained_embeddings)


def select_metric(data_args: DataArguments, training_args: RecurrentTrainingArguments, multi_label: bool) -> None:
    """Pick the best checkpoint by `--metric_for_best_model` if given, else by `--metric_name` (default: accuracy;
    micro-F1 for multi-label data)."""
    if training_args.metric_for_best_model_given:
        return
    training_args.metric_for_best_model = data_args.metric_name or ("micro_f1" if multi_label else "accuracy")
    training_args.greater_is_better = True


def build_trainer(
    run: PreparedRun,
    training_args: RecurrentTrainingArguments,
    model_init: Callable[..., torch.nn.Module],
    threshold: float = 0.5,
) -> RecurrentTrainer:
    """The `RecurrentTrainer` of a prepared run: validation every epoch, early stopping, the card's history."""
    callbacks = [TrainingHistoryCallback()]
    if training_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=training_args.early_stopping_patience))
    return RecurrentTrainer(
        model_init=model_init,
        args=training_args,
        train_dataset=run.train_dataset,
        eval_dataset=run.encoded["validation"],
        processing_class=run.tokenizer,
        data_collator=DataCollatorWithPadding(run.tokenizer),
        compute_metrics=build_compute_metrics(run.multi_label, threshold),
        callbacks=callbacks,
    )


def _tune_threshold(trainer: RecurrentTrainer, run: PreparedRun, metric: str) -> float:
    """Choose the multi-label decision threshold on the validation split, store it in the config and use it."""
    output = trainer.predict(run.encoded["validation"], metric_key_prefix="eval")
    references = np.asarray(output.label_ids).astype(np.int64)
    metric = metric if metric in ("micro_f1", "macro_f1", "weighted_f1", "subset_accuracy") else "micro_f1"
    threshold = tune_threshold(sigmoid(output.predictions), references, metric)
    trainer.model.config.multi_label_threshold = threshold
    trainer.compute_metrics = build_compute_metrics(True, threshold)
    return threshold


def train(
    model_args: ModelArguments, data_args: DataArguments, training_args: RecurrentTrainingArguments
) -> dict[str, float]:
    """
    Train a recurrent classifier and save it, with its tokenizer, code, metrics and card, in `output_dir`.

    The tokenizer is trained on the train split only. The model is evaluated on the validation split every epoch; the
    best checkpoint is kept, and it is scored once on the train, validation and test splits at the end. A run
    interrupted in `output_dir` resumes from its last checkpoint (or from `--resume_from_checkpoint`), if it is the
    same run: other data or options in a folder holding checkpoints are refused, not resumed.

    Returns:
        `dict`: The final metrics, with `train_`, `eval_` (validation) and `test_` prefixes.
    """
    if training_args.output_dir is None:
        raise ArgumentError("--output_dir is required.")
    check_output_dir(training_args.output_dir)
    run = prepare_run(model_args, data_args, training_args)
    select_metric(data_args, training_args, run.multi_label)
    fingerprint = run_fingerprint(model_args, data_args, training_args, run.data)
    checkpoint = training_args.resume_from_checkpoint
    if training_args.overwrite_output_dir and checkpoint is None:
        if training_args.process_index == 0:
            remove_checkpoints(training_args.output_dir)  # starting over: an old checkpoint is never resumed later
    elif checkpoint is None:
        checkpoint = last_complete_checkpoint(training_args.output_dir)
        if checkpoint is not None:
            check_same_run(training_args.output_dir, fingerprint)
            logger.info("Resuming from the last checkpoint in %s: %s", training_args.output_dir, checkpoint)
    trainer = build_trainer(run, training_args, run.model_init(model_args, data_args))
    if trainer.is_world_process_zero():
        write_run_fingerprint(training_args.output_dir, fingerprint)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    if training_args.tune_threshold:
        _tune_threshold(trainer, run, training_args.metric_for_best_model)

    trainer.remove_callback(EarlyStoppingCallback)  # the final scoring below is not a validation step
    encoded = run.encoded
    metrics = {
        key if key.startswith("train_") else f"train_{key}": value for key, value in train_result.metrics.items()
    }
    metrics["train_samples"] = len(run.train_dataset)
    train_scores = trainer.evaluate(encoded["train"], metric_key_prefix="train")  # the final model on its train split
    metrics.update({key: value for key, value in train_scores.items() if key not in metrics})
    metrics.update(trainer.evaluate(encoded["validation"], metric_key_prefix="eval"))
    metrics["eval_samples"] = len(encoded["validation"])
    test_output = trainer.predict(encoded["test"], metric_key_prefix="test")  # predictions for the card
    metrics.update(test_output.metrics)
    metrics["test_samples"] = len(encoded["test"])
    run_config = {"model": asdict(model_args), "data": asdict(data_args)}
    save_final_model(
        trainer,
        training_args.output_dir,
        metrics=metrics,
        run_config=run_config,
        card=dict(data=run.data, data_args=data_args, test_output=test_output, metrics=metrics, run_config=run_config),
    )
    if training_args.push_to_hub:
        trainer.push_to_hub()  # exactly hf_rnn.hub.REPO_FILES
    return metrics
