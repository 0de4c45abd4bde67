"""
The argument dataclasses of training (`hf-rnn train`, `hf_rnn.training.train`): what `HfArgumentParser` parses. The
other commands' options are in `hf_rnn.command_args`.

Model options take their defaults from the configuration classes (`RecurrentConfig`), the one source of the
recommended model; data options follow transformers' `run_classification.py` example.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields

import torch
from transformers import TrainingArguments

from . import ARCHITECTURES
from .configuration_hf_rnn import POOLING_CHOICES, RecurrentConfig, RNNConfig
from .pretrained_embeddings import EMBEDDING_SOURCES
from .tokenization import TOKENIZER_TYPES

#: The configuration options `ModelArguments` exposes (defaults read from `RecurrentConfig`).
CONFIG_OPTIONS = (
    "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling", "attention_size",
    "embedding_dropout", "word_dropout", "rnn_dropout", "recurrent_weight_dropout", "classifier_dropout",
    "label_smoothing", "adversarial_epsilon",
)  # fmt: skip
#: The configuration options that fix a model's shape: a fine-tuning run (`--model_name_or_path`) cannot change them.
SHAPE_OPTIONS = ("embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling", "attention_size",
                 "nonlinearity")  # fmt: skip
#: The other configuration options: the dropouts, the label smoothing and the adversarial step, settings of training
#: that a fine-tuning run applies.
TRAINING_OPTIONS = tuple(name for name in CONFIG_OPTIONS if name not in SHAPE_OPTIONS)
#: The training options that are rates in [0, 1).
RATE_OPTIONS = tuple(name for name in TRAINING_OPTIONS if name != "adversarial_epsilon")
#: Metrics `--metric_name` can select the best checkpoint by.
METRIC_CHOICES = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall",
                  "subset_accuracy")  # fmt: skip


class ArgumentError(ValueError):
    """An option whose value cannot work; the message names the option."""


def require(condition: bool, option: str, requirement: str, value: object) -> None:
    """Raise an [`ArgumentError`] naming `--option`, what it must be and the value given, unless `condition` holds."""
    if not condition:
        raise ArgumentError(f"--{option} must be {requirement}, got {value!r}.")


def _config_default(name: str, config_class: type = RecurrentConfig):
    return getattr(config_class, name)


@dataclass
class ModelArguments:
    """Which model to train: the architecture, its configuration options and its tokenizer."""

    model_type: str = field(default="lstm", metadata={"help": "Architecture.", "choices": list(ARCHITECTURES)})
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Fine-tune a saved hf_rnn model (directory or Hub id) instead of a new one: its shape "
                  "stays; dropouts and label smoothing given here apply."},
    )  # fmt: skip
    embedding_dim: int = field(default=_config_default("embedding_dim"), metadata={"help": "Token embedding size."})
    hidden_size: int = field(
        default=_config_default("hidden_size"), metadata={"help": "Recurrent state size per direction."}
    )
    num_layers: int = field(default=_config_default("num_layers"), metadata={"help": "Stacked recurrent layers."})
    bidirectional: bool = field(
        default=_config_default("bidirectional"), metadata={"help": "Read the text in both directions."}
    )
    pooling: str = field(
        default=_config_default("pooling"), metadata={"help": "Pooling of the outputs.", "choices": POOLING_CHOICES}
    )
    attention_size: int = field(
        default=_config_default("attention_size"), metadata={"help": "Size of the attention scoring layer."}
    )
    embedding_dropout: float = field(
        default=_config_default("embedding_dropout"), metadata={"help": "Dropout on the embeddings."}
    )
    word_dropout: float = field(
        default=_config_default("word_dropout"), metadata={"help": "Probability of replacing a word by [UNK]."}
    )
    rnn_dropout: float = field(
        default=_config_default("rnn_dropout"), metadata={"help": "Dropout between recurrent layers."}
    )
    recurrent_weight_dropout: float | None = field(
        default=None,
        metadata={"help": "DropConnect on the hidden-to-hidden weights, one mask per batch (default: the family's, "
                  "0.3 for rnn, 0 for gru and lstm)."},
    )  # fmt: skip
    classifier_dropout: float = field(
        default=_config_default("classifier_dropout"), metadata={"help": "Dropout before the classifier."}
    )
    label_smoothing: float = field(
        default=_config_default("label_smoothing"),
        metadata={
            "help": "Label smoothing of the model's own loss (kept in its config; replaces transformers' "
            "--label_smoothing_factor)."
        },
    )
    adversarial_epsilon: float = field(
        default=_config_default("adversarial_epsilon"),
        metadata={
            "help": "Adversarial training (Miyato et al., 2017): also learn from each text with its word vectors "
            "moved along the loss gradient by this fraction of their own norm; 0: off."
        },
    )
    nonlinearity: str = field(
        default=_config_default("nonlinearity", RNNConfig),
        metadata={"help": "Simple RNN only: activation.", "choices": ["tanh", "relu"]},
    )
    embeddings_from: str | None = field(
        default=None,
        metadata={"help": "Start from the input embeddings and tokenizer of this Hugging Face model (dir or Hub id)."},
    )
    embeddings_source: str = field(
        default="input",
        metadata={
            "help": "Which --embeddings_from embeddings: its input-embedding matrix, or each token's output embedding "
            "when the model reads it alone (static embeddings distilled as model2vec does).",
            "choices": list(EMBEDDING_SOURCES),
        },
    )
    freeze_embeddings: bool = field(default=False, metadata={"help": "Keep --embeddings_from embeddings fixed."})
    embeddings_pca_dims: int | None = field(
        default=None,
        metadata={"help": "Reduce the --embeddings_from matrix to this many principal components (a smaller model)."},
    )
    tokenizer_type: str = field(
        default="word", metadata={"help": "Tokenizer trained on the train split.", "choices": list(TOKENIZER_TYPES)}
    )
    vocab_size: int = field(default=30000, metadata={"help": "Largest tokenizer vocabulary (words by frequency)."})
    min_frequency: int = field(
        default=2, metadata={"help": "Least count in the train split for a word to enter the vocabulary."}
    )
    lowercase: bool = field(default=True, metadata={"help": "Lowercase text before tokenising."})
    max_length: int = field(default=256, metadata={"help": "Texts are truncated to this many tokens."})

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "hidden_size", "num_layers", "attention_size", "max_length", "min_frequency"):
            require(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        if self.embeddings_pca_dims is not None:
            require(self.embeddings_pca_dims >= 1, "embeddings_pca_dims", "at least 1", self.embeddings_pca_dims)
            if self.embeddings_from is None:
                raise ArgumentError("--embeddings_pca_dims reduces pretrained embeddings: give --embeddings_from too.")
        if self.embeddings_source != "input" and self.embeddings_from is None:
            raise ArgumentError("--embeddings_source chooses among pretrained embeddings: give --embeddings_from too.")
        require(self.vocab_size >= 3, "vocab_size", "at least 3 ([PAD], [UNK] and one word)", self.vocab_size)
        for name in RATE_OPTIONS:
            if getattr(self, name) is None:  # recurrent_weight_dropout: the family's default
                continue
            require(0.0 <= getattr(self, name) < 1.0, name, "in [0, 1)", getattr(self, name))
        require(0.0 <= self.adversarial_epsilon < math.inf, "adversarial_epsilon", "0 or more and finite",
                self.adversarial_epsilon)  # fmt: skip
        if self.model_type != "rnn" and self.nonlinearity != _config_default("nonlinearity", RNNConfig):
            raise ArgumentError("--nonlinearity applies to the simple RNN only (--model_type rnn).")

    def config_kwargs(self) -> dict[str, object]:
        """The configuration options of the model to build (`nonlinearity` for the simple RNN only; options left
        at `None` take the family's default)."""
        names = CONFIG_OPTIONS + (("nonlinearity",) if self.model_type == "rnn" else ())
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def given_config_options(self) -> dict[str, object]:
        """The configuration options set to other than their defaults: what a fine-tuning run changes or checks."""
        defaults = {option.name: option.default for option in fields(self)}
        return {name: value for name, value in self.config_kwargs().items() if value != defaults[name]}


@dataclass
class DataArguments:
    """Where the data comes from, which columns hold the text and the label, and how missing splits are cut."""

    dataset_name: str | None = field(
        default=None, metadata={"help": "A dataset `datasets.load_dataset` opens: Hub id or local dataset folder."}
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration of --dataset_name."})
    train_file: str | None = field(
        default=None, metadata={"help": "Training data: .csv, .tsv, .json, .jsonl, .parquet or Li & Roth .label."}
    )
    validation_file: str | None = field(default=None, metadata={"help": "Validation data (default: cut from train)."})
    test_file: str | None = field(default=None, metadata={"help": "Test data (default: cut from train)."})
    text_column_names: str | None = field(
        default=None,
        metadata={"help": "Comma-separated text columns, joined (default: `text`, or the only string column)."},
    )
    text_column_delimiter: str = field(default=" ", metadata={"help": "Joins several text columns."})
    label_column_name: str | None = field(
        default=None, metadata={"help": "Label column (default: `label`; `coarse_label` for Li & Roth files)."}
    )
    multi_label: bool = field(
        default=False, metadata={"help": "Label sets (lists, or comma-separated strings); lists imply it."}
    )
    metric_name: str | None = field(
        default=None,
        metadata={
            "help": "Metric that selects the best checkpoint (default: accuracy; micro_f1 for multi-label).",
            "choices": list(METRIC_CHOICES),
        },
    )
    validation_fraction: float = field(default=0.1, metadata={"help": "Share of the training data for validation."})
    test_fraction: float = field(default=0.1, metadata={"help": "Share of the training data for test."})
    split_seed: int = field(default=42, metadata={"help": "Seed of the train/validation/test cut."})

    def __post_init__(self) -> None:
        for name in ("validation_fraction", "test_fraction"):
            require(0.0 < getattr(self, name) < 1.0, name, "between 0 and 1 (exclusive)", getattr(self, name))
        require(
            self.validation_fraction + self.test_fraction < 1.0,
            "validation_fraction",
            f"below 1 - --test_fraction ({1.0 - self.test_fraction:g})",
            self.validation_fraction,
        )
        if self.dataset_name is None and self.train_file is None:
            raise ArgumentError("no training data: give --train_file FILE or --dataset_name NAME.")

    @property
    def text_columns(self) -> list[str] | None:
        """`text_column_names` as a list."""
        if self.text_column_names is None:
            return None
        return [name.strip() for name in self.text_column_names.split(",") if name.strip()]

    def load_splits(self):
        """
        The train, validation and test splits these options describe (`hf_rnn.data.load_splits`). Columns left to
        their defaults are set to the ones read (`text_column_names`, `label_column_name`).
        """
        from .data import load_splits

        columns: dict = {}
        data = load_splits(
            dataset_name=self.dataset_name,
            dataset_config_name=self.dataset_config_name,
            train_file=self.train_file,
            validation_file=self.validation_file,
            test_file=self.test_file,
            text_column_names=self.text_columns,
            text_column_delimiter=self.text_column_delimiter,
            label_column_name=self.label_column_name,
            multi_label=self.multi_label,
            validation_fraction=self.validation_fraction,
            test_fraction=self.test_fraction,
            split_seed=self.split_seed,
            columns_used=columns,
        )
        self.text_column_names = ",".join(columns["text_column_names"])
        self.label_column_name = columns["label_column_name"]
        return data


@dataclass
class RecurrentTrainingArguments(TrainingArguments):
    """`TrainingArguments` with defaults suited to small recurrent classifiers, plus early stopping, class weights,
    distillation and threads."""

    output_dir: str | None = field(default=None, metadata={"help": "Where the model, checkpoints and metrics go."})
    num_train_epochs: float = field(default=20.0, metadata={"help": "Most epochs (early stopping may end sooner)."})
    learning_rate: float = field(default=2e-3, metadata={"help": "Peak learning rate of AdamW."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (0: plain Adam)."})
    optim: str = field(
        default="adamw_torch_fused",
        metadata={"help": "Optimizer. Fused AdamW (torch >= 2.4, CPU and GPU) steps fastest (docs/performance.md)."},
    )
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size."})
    per_device_eval_batch_size: int = field(default=256, metadata={"help": "Evaluation batch size."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint."})
    logging_strategy: str = field(default="epoch", metadata={"help": "When to log the training loss."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "Keep the best checkpoint at the end."})
    metric_for_best_model: str | None = field(
        default=None, metadata={"help": "Metric that picks the best checkpoint (default: --metric_name)."}
    )
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept on disk."})
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "Batch texts of similar length to save padding."}
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Start afresh even if output_dir holds checkpoints (default: resume)."}
    )
    dataloader_pin_memory: bool = field(
        default=torch.cuda.is_available(), metadata={"help": "Pin batches in page-locked memory (useful on GPU only)."}
    )
    do_predict: bool = field(
        default=True,
        metadata={"help": "Score the test split once at the end (always: the card's results come from it)."},
    )
    early_stopping_patience: int = field(
        default=5, metadata={"help": "Stop after this many evaluations without improvement (0: never)."}
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "Torch CPU threads (default: see hf_rnn.threads.default_num_threads)."}
    )
    hub_strategy: str = field(
        default="end", metadata={"help": "With --push_to_hub: push the final model and its card once, at the end."}
    )
    class_weights: str | None = field(
        default=None,
        metadata={"help": "`balanced` (inverse label frequency of the train split) or a JSON file {label: weight}."},
    )
    balanced_sampling: bool = field(
        default=False, metadata={"help": "Draw training examples with probability inverse to their label frequency."}
    )
    tune_threshold: bool = field(
        default=False, metadata={"help": "Multi-label: choose the decision threshold on the validation split."}
    )
    teacher: str | None = field(
        default=None,
        metadata={"help": "Distil from this fine-tuned transformers classifier (see `hf-rnn teacher`): soft labels."},
    )
    teacher_soft_labels: str | None = field(
        default=None,
        metadata={"help": "Distil from a soft-label file written by `hf-rnn teacher --soft_labels_file` instead."},
    )
    distillation_alpha: float = field(
        default=0.5, metadata={"help": "Weight of the teacher's soft labels (1 - alpha: the gold labels)."}
    )
    distillation_temperature: float = field(default=2.0, metadata={"help": "Softmax temperature of distillation."})
    distillation_augment_copies: int = field(
        default=0,
        metadata={"help": "With --teacher: add this many perturbed copies of each training text, teacher-labelled."},
    )
    distillation_replace_probability: float = field(
        default=0.0,
        metadata={
            "help": "With --teacher: in the copies, replace each word with this probability by one of its nearest "
            "words in the --embeddings_from embeddings (frequent words stay)."
        },
    )
    distillation_adjust_teacher: bool = field(
        default=False,
        metadata={
            "help": "Where the teacher's top class contradicts a training text's gold label (or, for a copy, its "
            "source's), swap the two classes' soft scores (knowledge adjustment, Wen et al. 2019)."
        },
    )

    def __post_init__(self) -> None:
        require(self.num_train_epochs > 0 or self.max_steps > 0, "num_train_epochs", "positive", self.num_train_epochs)
        require(math.isfinite(self.num_train_epochs), "num_train_epochs", "finite", self.num_train_epochs)
        require(0 < self.learning_rate < math.inf, "learning_rate", "positive and finite", self.learning_rate)
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            require(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        require(
            self.early_stopping_patience >= 0, "early_stopping_patience", "0 or more", self.early_stopping_patience
        )
        require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)
        require(self.eval_accumulation_steps is None or self.eval_accumulation_steps >= 1, "eval_accumulation_steps",
                 "at least 1", self.eval_accumulation_steps)  # fmt: skip
        require(self.dataloader_num_workers >= 0, "dataloader_num_workers", "0 or more", self.dataloader_num_workers)
        require(0.0 <= self.distillation_alpha <= 1.0, "distillation_alpha", "in [0, 1]", self.distillation_alpha)
        require(self.distillation_temperature > 0, "distillation_temperature", "positive",
                 self.distillation_temperature)  # fmt: skip
        require(self.distillation_augment_copies >= 0, "distillation_augment_copies", "0 or more",
                 self.distillation_augment_copies)  # fmt: skip
        require(0.0 <= self.distillation_replace_probability <= 0.9, "distillation_replace_probability",
                 "in [0, 0.9]", self.distillation_replace_probability)  # fmt: skip
        if not self.do_predict:
            raise ArgumentError(
                "--do_predict false is not supported: a run scores its test split once, for its card and metrics."
            )
        if self.label_smoothing_factor:
            raise ArgumentError(
                "use --label_smoothing (the model's own loss, kept in its config) instead of --label_smoothing_factor."
            )
        if self.teacher is not None and self.teacher_soft_labels is not None:
            raise ArgumentError("give one of --teacher and --teacher_soft_labels, not both.")
        if self.teacher_soft_labels is not None and not os.path.isfile(self.teacher_soft_labels):
            raise ArgumentError(f"--teacher_soft_labels {self.teacher_soft_labels}: no such file.")
        if self.class_weights not in (None, "balanced") and not os.path.isfile(self.class_weights):
            raise ArgumentError(
                f"--class_weights must be `balanced` or a JSON file; {self.class_weights}: no such file."
            )
        #: Whether the best checkpoint is picked by a metric the user named (else by `--metric_name`, set in `train`).
        self.metric_for_best_model_given = self.metric_for_best_model is not None
        if not self.metric_for_best_model_given:
            self.metric_for_best_model = "accuracy"  # a placeholder until the data is known
        # accelerate forms a CPU process group (gloo) only when told to use the CPU: without `use_cpu`, the processes
        # of a `torchrun` or `accelerate launch` on a machine without a GPU each train alone, on all the data, and all
        # write to output_dir.
        if launched_processes() > 1 and not torch.cuda.is_available():
            self.use_cpu = True
        super().__post_init__()


def launched_processes() -> int:
    """The number of processes of the launch this process belongs to (torchrun or MPI variables; 1 if none)."""
    for name in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1
