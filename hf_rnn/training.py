"""Training with `transformers.Trainer`: argument dataclasses, model construction and the `train` entry point."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from datasets import Dataset, DatasetDict, concatenate_datasets
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    PreTrainedTokenizerBase,
    TrainingArguments,
    set_seed,
)

from . import ARCHITECTURES
from .data import LABEL_COLUMNS, load_trec
from .distillation import augment_questions, teacher_logits
from .inference import load_classifier
from .metrics import compute_metrics
from .model_card import TrainingHistoryCallback, build_card_data
from .modeling_hf_rnn import RecurrentForSequenceClassification
from .pretrained_embeddings import copy_input_embeddings, load_input_embeddings
from .runtime import configure_threads
from .tokenization import TOKENIZER_TYPES, train_tokenizer
from .trainer import RNNTrainer, last_complete_checkpoint, save_final_model

logger = logging.getLogger(__name__)

#: Settings each architecture uses where the command line leaves a model option unset (`None`). They won the
#: validation-split comparisons recorded in `results/experiments.md`: reading both ways and attending over the outputs,
#: with light dropout, beat the last state of a one-way network for all three families.
_WINNING_SETTINGS = {
    "embedding_dim": 128,
    "hidden_size": 128,
    "num_layers": 1,
    "bidirectional": True,
    "pooling": "attention",
    "embedding_dropout": 0.2,
    "classifier_dropout": 0.2,
}
RECOMMENDED_SETTINGS: dict[str, dict[str, object]] = {
    "rnn": dict(_WINNING_SETTINGS),
    "gru": dict(_WINNING_SETTINGS),
    "lstm": dict(_WINNING_SETTINGS),
}


@dataclass
class ModelArguments:
    """Which model to train and its hyperparameters. An option left unset takes the architecture's recommended value."""

    model_type: str = field(default="lstm", metadata={"help": "Architecture.", "choices": list(ARCHITECTURES)})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Fine-tune a saved hf_rnn model (directory or Hub id) instead of a new one."}
    )
    embedding_dim: int | None = field(default=None, metadata={"help": "Size of the token embeddings."})
    hidden_size: int | None = field(default=None, metadata={"help": "Size of the recurrent state per direction."})
    num_layers: int | None = field(default=None, metadata={"help": "Number of stacked recurrent layers."})
    bidirectional: bool | None = field(default=None, metadata={"help": "Read questions in both directions."})
    pooling: str | None = field(
        default=None, metadata={"help": "Pooling of the outputs.", "choices": ["last", "mean", "max", "attention"]}
    )
    attention_size: int | None = field(default=None, metadata={"help": "Size of the attention scoring layer."})
    embedding_dropout: float | None = field(default=None, metadata={"help": "Dropout on the embeddings."})
    word_dropout: float | None = field(default=None, metadata={"help": "Probability of replacing a word by [UNK]."})
    rnn_dropout: float | None = field(default=None, metadata={"help": "Dropout between recurrent layers."})
    classifier_dropout: float | None = field(default=None, metadata={"help": "Dropout before the classifier."})
    nonlinearity: str | None = field(
        default=None, metadata={"help": "Simple RNN only: activation.", "choices": ["tanh", "relu"]}
    )
    embeddings_from: str | None = field(
        default=None,
        metadata={"help": "Start from the input embeddings and tokenizer of this Hugging Face model (dir or Hub id)."},
    )
    freeze_embeddings: bool = field(default=False, metadata={"help": "Keep --embeddings_from embeddings fixed."})
    tokenizer_type: str = field(
        default="word", metadata={"help": "Tokenizer trained on the train split.", "choices": list(TOKENIZER_TYPES)}
    )
    vocab_size: int = field(default=8000, metadata={"help": "Largest tokenizer vocabulary."})
    min_frequency: int = field(default=1, metadata={"help": "Least count for a word to enter the vocabulary."})
    lowercase: bool = field(default=True, metadata={"help": "Lowercase text before tokenising."})
    max_length: int = field(default=256, metadata={"help": "Questions are truncated to this many tokens."})

    def config_kwargs(self) -> dict[str, object]:
        """The model configuration options: the recommended settings overridden by every option that is set."""
        config_fields = {
            "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling", "attention_size",
            "embedding_dropout", "word_dropout", "rnn_dropout", "classifier_dropout",
        }  # fmt: skip
        if self.model_type == "rnn":
            config_fields.add("nonlinearity")
        elif self.nonlinearity is not None:
            raise ValueError("`nonlinearity` applies to the simple RNN only (--model_type rnn).")
        kwargs = dict(RECOMMENDED_SETTINGS[self.model_type])
        kwargs.update({name: getattr(self, name) for name in config_fields if getattr(self, name) is not None})
        return kwargs


@dataclass
class DataArguments:
    """Where the questions come from and which label to learn."""

    train_file: str | None = field(
        default=None, metadata={"help": "Li & Roth label file (e.g. train_5500.label); without it, the Hub dataset."}
    )
    test_file: str | None = field(default=None, metadata={"help": "Held-out label file used as the test split."})
    dataset_name: str = field(default="CogComp/trec", metadata={"help": "Hub dataset used when no file is given."})
    label_column: str = field(
        default="coarse_label", metadata={"help": "Target: 6 coarse or 50 fine classes.", "choices": list(LABEL_COLUMNS)}
    )
    validation_fraction: float = field(default=0.1, metadata={"help": "Share of the training file for validation."})
    test_fraction: float = field(default=0.1, metadata={"help": "Share of the training file for test (no test_file)."})
    split_seed: int = field(default=42, metadata={"help": "Seed of the train/validation/test split."})

    def load_splits(self) -> DatasetDict:
        """The train, validation and test splits these options describe (see `hf_rnn.data.load_trec`)."""
        return load_trec(
            train_file=self.train_file,
            test_file=self.test_file,
            validation_fraction=self.validation_fraction,
            test_fraction=self.test_fraction,
            seed=self.split_seed,
            dataset_name=self.dataset_name,
        )


@dataclass
class RNNTrainingArguments(TrainingArguments):
    """`TrainingArguments` with defaults suited to small recurrent classifiers, plus early stopping and threads."""

    output_dir: str | None = field(default=None, metadata={"help": "Where the model, checkpoints and metrics go."})
    num_train_epochs: float = field(default=20.0, metadata={"help": "Most epochs (early stopping may end sooner)."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Peak learning rate of AdamW."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (0: plain Adam)."})
    optim: str = field(
        default="adamw_torch_fused",
        metadata={"help": "Optimizer. Fused AdamW (torch >= 2.4, CPU and GPU) steps fastest (results/benchmark.md)."},
    )
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    per_device_eval_batch_size: int = field(default=256, metadata={"help": "Evaluation batch size."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint."})
    logging_strategy: str = field(default="epoch", metadata={"help": "When to log the training loss."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "Keep the best checkpoint at the end."})
    metric_for_best_model: str | None = field(default="accuracy", metadata={"help": "Metric that picks the best."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept on disk."})
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "Batch questions of similar length to save padding."}
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start afresh even if output_dir holds checkpoints (default: resume)."}
    )
    dataloader_pin_memory: bool = field(
        default=torch.cuda.is_available(), metadata={"help": "Pin batches in page-locked memory (useful on GPU only)."}
    )
    early_stopping_patience: int = field(
        default=5, metadata={"help": "Stop after this many evaluations without improvement (0: never)."}
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "Torch CPU threads (default: see hf_rnn.runtime.default_num_threads)."}
    )
    hub_strategy: str = field(
        default="end", metadata={"help": "With --push_to_hub: push the final model and its card once, at the end."}
    )
    teacher: str | None = field(
        default=None,
        metadata={"help": "Distil from this fine-tuned transformers classifier (see `hf-rnn teacher`): soft labels."},
    )
    distillation_alpha: float = field(
        default=0.5, metadata={"help": "Weight of the teacher's soft labels (1 - alpha: the gold labels)."}
    )
    distillation_temperature: float = field(default=2.0, metadata={"help": "Softmax temperature of distillation."})
    distillation_augment_copies: int = field(
        default=0,
        metadata={"help": "With --teacher: add this many perturbed copies of each training question, teacher-labelled."},
    )

    def __post_init__(self) -> None:
        # accelerate forms a CPU process group (gloo) only when told to use the CPU: without `use_cpu`, the processes
        # of a `torchrun` or `accelerate launch` on a machine without a GPU each train alone, on all the data, and all
        # write to output_dir.
        if _launched_processes() > 1 and not torch.cuda.is_available():
            self.use_cpu = True
        super().__post_init__()


def _launched_processes() -> int:
    """The number of processes of the launch this process belongs to (torchrun or MPI variables; 1 if none)."""
    for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def build_model(
    model_args: ModelArguments,
    tokenizer: PreTrainedTokenizerBase,
    label_names: list[str],
    embeddings: torch.Tensor | None = None,
) -> RecurrentForSequenceClassification:
    """
    A new classifier sized for `tokenizer` and labelled with `label_names`: randomly initialised, or with its
    embedding layer copied from `embeddings` (a `(vocab_size, dim)` matrix, see `--embeddings_from`).
    """
    config_class, _, classifier_class = ARCHITECTURES[model_args.model_type]
    config_kwargs = model_args.config_kwargs()
    vocab_size = len(tokenizer)
    if embeddings is not None:
        vocab_size, config_kwargs["embedding_dim"] = embeddings.shape
    config = config_class(
        vocab_size=vocab_size,
        pad_token_id=tokenizer.pad_token_id,
        unk_token_id=tokenizer.unk_token_id,
        id2label=dict(enumerate(label_names)),
        label2id={name: index for index, name in enumerate(label_names)},
        **config_kwargs,
    )
    model = classifier_class(config)
    if embeddings is not None:
        copy_input_embeddings(model, embeddings, freeze=model_args.freeze_embeddings)
    return model


def tokenize_splits(
    data: DatasetDict, tokenizer: PreTrainedTokenizerBase, label_column: str, max_length: int
) -> DatasetDict:
    """Token ids, attention mask and `labels` for every split (no padding: the collator pads each batch)."""

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        encoded["labels"] = batch[label_column]
        return encoded

    return data.map(encode, batched=True, remove_columns=data["train"].column_names, desc="Tokenising")


def _check_labels(model_config, label_names: list[str], source: str) -> None:
    saved = [model_config.id2label[index] for index in range(len(model_config.id2label))]
    if saved != label_names:
        raise ValueError(f"{source} was trained on labels {saved}, but this data has labels {label_names}.")


@dataclass
class PreparedRun:
    """
    What a training run needs before its first step: the splits, their encodings, the tokenizer, and the dataset the
    Trainer trains on (the encoded train split, or with `--teacher` its distillation set).
    """

    data: DatasetDict
    encoded: DatasetDict
    train_dataset: Dataset
    label_names: list[str]
    tokenizer: PreTrainedTokenizerBase
    pretrained_embeddings: torch.Tensor | None = None

    def model_init(self, model_args: ModelArguments) -> Callable[..., RecurrentForSequenceClassification]:
        """A `Trainer` `model_init`: the saved model to fine-tune, or a new one built from `model_args`."""

        def model_init(trial=None) -> RecurrentForSequenceClassification:
            if model_args.model_name_or_path is not None:
                model = AutoModelForSequenceClassification.from_pretrained(
                    model_args.model_name_or_path, use_safetensors=True, trust_remote_code=False
                )
                _check_labels(model.config, self.label_names, model_args.model_name_or_path)
                return model
            return build_model(model_args, self.tokenizer, self.label_names, embeddings=self.pretrained_embeddings)

        return model_init


def prepare_run(
    model_args: ModelArguments, data_args: DataArguments, training_args: RNNTrainingArguments
) -> PreparedRun:
    """
    Set threads and seed, load the splits, get the tokenizer (trained on the train split only, taken from
    `--embeddings_from`, or the saved model's) and encode every split; with `--teacher`, add its soft labels to the
    train split.
    """
    configure_threads(training_args.num_threads)
    set_seed(training_args.seed)
    data = data_args.load_splits()
    label_names = data["train"].features[data_args.label_column].names

    pretrained_embeddings = None
    if model_args.model_name_or_path is not None:
        _, tokenizer = load_classifier(model_args.model_name_or_path)  # checked; hf_rnn code and safetensors only
    elif model_args.embeddings_from is not None:
        tokenizer, pretrained_embeddings = load_input_embeddings(model_args.embeddings_from)
    else:
        tokenizer = train_tokenizer(
            data["train"]["text"],
            tokenizer_type=model_args.tokenizer_type,
            vocab_size=model_args.vocab_size,
            min_frequency=model_args.min_frequency,
            lowercase=model_args.lowercase,
            model_max_length=model_args.max_length,
        )
    encoded = tokenize_splits(data, tokenizer, data_args.label_column, model_args.max_length)
    train_dataset = encoded["train"]
    if training_args.teacher is not None:
        train_dataset = distillation_set(
            train_dataset, list(data["train"]["text"]), tokenizer, label_names, model_args, training_args
        )
        training_args.remove_unused_columns = False  # keep teacher_logits; the splits hold model inputs only
    return PreparedRun(data, encoded, train_dataset, label_names, tokenizer, pretrained_embeddings)


def distillation_set(
    encoded_train: Dataset,
    texts: list[str],
    tokenizer: PreTrainedTokenizerBase,
    label_names: list[str],
    model_args: ModelArguments,
    training_args: RNNTrainingArguments,
) -> Dataset:
    """
    The encoded train split with the teacher's log-probabilities as `teacher_logits`, plus
    `distillation_augment_copies` perturbed copies of each question labelled by the teacher alone (their `labels` are
    the teacher's choice).
    """
    augmented = augment_questions(texts, training_args.distillation_augment_copies, seed=training_args.seed)
    soft_labels = teacher_logits(training_args.teacher, texts + augmented, label_names)
    train = encoded_train.add_column("teacher_logits", soft_labels[: len(texts)].tolist())
    if not augmented:
        return train
    extra = Dataset.from_dict(
        {
            **tokenizer(augmented, truncation=True, max_length=model_args.max_length),
            "labels": soft_labels[len(texts) :].argmax(axis=-1).tolist(),
            "teacher_logits": soft_labels[len(texts) :].tolist(),
        }
    )
    return concatenate_datasets([train, extra.cast(train.features)])


def build_trainer(
    run: PreparedRun, training_args: RNNTrainingArguments, model_init: Callable[..., RecurrentForSequenceClassification]
) -> RNNTrainer:
    """The `RNNTrainer` of a prepared run: validation every epoch, early stopping, the card's history callback."""
    callbacks = [TrainingHistoryCallback()]
    if training_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=training_args.early_stopping_patience))
    return RNNTrainer(
        model_init=model_init,
        args=training_args,
        train_dataset=run.train_dataset,
        eval_dataset=run.encoded["validation"],
        processing_class=run.tokenizer,
        data_collator=DataCollatorWithPadding(run.tokenizer),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )


def train(model_args: ModelArguments, data_args: DataArguments, training_args: RNNTrainingArguments) -> dict:
    """
    Train a recurrent classifier on TREC and save it, with its tokenizer, code and metrics, in `output_dir`.

    The tokenizer is trained on the train split only. The model is evaluated on the validation split every epoch; the
    best checkpoint is kept, and it is scored once on the validation and test splits at the end. A run interrupted in
    `output_dir` resumes from its last checkpoint (or from `--resume_from_checkpoint`).

    Returns:
        `dict`: The final metrics, with `train_`, `eval_` (validation) and `test_` prefixes.
    """
    if training_args.output_dir is None:
        raise ValueError("--output_dir is required.")
    run = prepare_run(model_args, data_args, training_args)
    trainer = build_trainer(run, training_args, run.model_init(model_args))
    data, encoded = run.data, run.encoded

    checkpoint = training_args.resume_from_checkpoint
    if checkpoint is None and os.path.isdir(training_args.output_dir) and not training_args.overwrite_output_dir:
        checkpoint = last_complete_checkpoint(training_args.output_dir)
        if checkpoint is not None:
            logger.info("Resuming from the last checkpoint in %s: %s", training_args.output_dir, checkpoint)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    save_final_model(trainer, training_args.output_dir)

    trainer.remove_callback(EarlyStoppingCallback)  # the final scoring below is not a validation step
    metrics = {f"train_{key}" if not key.startswith("train_") else key: value for key, value in train_result.metrics.items()}
    metrics["train_samples"] = len(run.train_dataset)
    train_scores = trainer.evaluate(encoded["train"], metric_key_prefix="train")  # the final model on its train split
    metrics.update({key: train_scores[key] for key in ("train_accuracy", "train_macro_f1")})
    metrics.update(trainer.evaluate(encoded["validation"], metric_key_prefix="eval"))
    metrics["eval_samples"] = len(encoded["validation"])
    test_output = trainer.predict(encoded["test"], metric_key_prefix="test")  # predictions for the card
    metrics.update(test_output.metrics)
    metrics["test_samples"] = len(encoded["test"])
    run_config = {"model": asdict(model_args), "data": asdict(data_args)}
    if trainer.is_world_process_zero():
        for split in ("train", "eval", "test"):
            trainer.save_metrics(split, {key: value for key, value in metrics.items() if key.startswith(f"{split}_")})
        trainer.save_state()
        with open(os.path.join(training_args.output_dir, "training_config.json"), "w") as handle:
            json.dump(run_config, handle, indent=2)
    trainer.card_data = build_card_data(trainer, data, data_args.label_column, test_output, metrics, run_config)
    trainer.create_model_card()  # README.md, the two plots and results.json
    if training_args.push_to_hub:
        trainer.push_to_hub()  # exactly hf_rnn.hub.REPO_FILES
    return metrics
