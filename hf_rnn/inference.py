"""Loading saved classifiers and scoring texts and data files with them (no Trainer needed)."""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections.abc import Iterable

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.tokenization_utils_base import FULL_TOKENIZER_FILE as TOKENIZER_FILE
from transformers.tokenization_utils_base import TOKENIZER_CONFIG_FILE
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_NAME

from . import ARCHITECTURES
from .data import DataError, trec
from .data.loading import RawSplit, normalise, read_data_file, read_dataset
from .metrics import classification_metrics, multi_hot
from .onnx_model import ONNX_FILENAME, OnnxClassifier, is_onnx_dir
from .optional import MissingExtraError

#: Present while the final save of a model folder is under way (see `hf_rnn.trainer.save_final_model`).
INCOMPLETE_MARKER = ".hf_rnn_incomplete"
#: The `model_type`s of this package's configurations; `load_classifier` refuses any other.
MODEL_TYPES = frozenset(config_class.model_type for config_class, _, _ in ARCHITECTURES.values())
#: The files a saved model's tokenizer is read from.
TOKENIZER_FILES = (TOKENIZER_FILE, TOKENIZER_CONFIG_FILE)
#: What `save_pretrained` of a classifier and its tokenizer writes, and `load_classifier` reads.
REQUIRED_FILES = (CONFIG_NAME, SAFE_WEIGHTS_NAME, *TOKENIZER_FILES)


class ModelLoadError(ValueError):
    """A saved classifier that cannot be loaded or does not hold together; the message names the file at fault."""


def _file(source: str, name: str) -> str:
    return os.path.join(source, name) if os.path.isdir(source) else f"{name} of {source!r}"


def _load_error(source: str, name: str, error: Exception) -> ModelLoadError:
    reason = " ".join(str(error).split())
    return ModelLoadError(f"{_file(source, name)}: cannot be loaded ({type(error).__name__}: {reason[:400]})")


def _weight_name(key: str | tuple) -> str:
    if isinstance(key, tuple):  # a mismatch: (name, shape in the file, shape the configuration gives)
        name, found, expected = key
        return f"{name} {list(found)} instead of {list(expected)}"
    return key


def load_classifier(
    model_name_or_path: str | os.PathLike,
) -> tuple[PreTrainedModel | OnnxClassifier, PreTrainedTokenizerBase]:
    """
    Load a saved hf_rnn classifier and its tokenizer (the model in eval mode) from a directory or Hub id, and check
    that they hold together.

    A directory written by `hf-rnn export` (`model.onnx`, no `model.safetensors`) gives an
    [`~hf_rnn.onnx_model.OnnxClassifier`] run by ONNX Runtime (the `export` extra), which `predict_proba`, `predict`
    and the evaluation functions take as they take the PyTorch model.

    Only this package's code runs: `trust_remote_code=False`, so an `auto_map` or a `trust_remote_code` entry in
    `config.json` is never followed, and nothing read from `config.json` is passed on as a loading option. Weights
    are read from `model.safetensors` only (`use_safetensors=True`), never from a pickle such as `pytorch_model.bin`.
    The configuration must be one of this package's model types, the weights must match it exactly (no missing,
    unexpected or reshaped tensor), and the tokenizer must agree with it: no id past `vocab_size` (a smaller tokenizer
    is accepted, as embedding matrices may be padded), and the same padding and unknown-token ids.

    Raises:
        `ModelLoadError`: One message naming the file at fault (`config.json`, `model.safetensors`, `tokenizer.json`).
        `hf_rnn.optional.MissingExtraError`: An exported directory, and onnxruntime is not installed.
    """
    source = os.fspath(model_name_or_path)
    if not os.path.isdir(source) and _looks_local(source):
        raise ModelLoadError(f"{source}: no such model folder.")
    exported = is_onnx_dir(source) and not os.path.isfile(os.path.join(source, SAFE_WEIGHTS_NAME))
    weights_file = ONNX_FILENAME if exported else SAFE_WEIGHTS_NAME
    if os.path.isdir(source):
        if os.path.exists(os.path.join(source, INCOMPLETE_MARKER)):
            raise ModelLoadError(
                f"{os.path.join(source, INCOMPLETE_MARKER)}: the final save of {source} was interrupted, so its files "
                "may mix two runs; run the training command again to finish it."
            )
        for name in (weights_file if name == SAFE_WEIGHTS_NAME else name for name in REQUIRED_FILES):
            if not os.path.isfile(os.path.join(source, name)):
                raise ModelLoadError(
                    f"{os.path.join(source, name)}: missing, so {source} is not a complete saved model (an "
                    "interrupted training run leaves only checkpoint-* folders; weights are read from "
                    "model.safetensors only, never from a pickled pytorch_model.bin)."
                )
    try:
        config_dict, _ = PreTrainedConfig.get_config_dict(source)  # plain JSON: runs nothing
        model_type = config_dict.get("model_type")
        if model_type in MODEL_TYPES:
            config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except Exception as error:
        if not os.path.exists(source):  # maybe a mistyped local path: say so first
            reason = " ".join(str(error).split())[:300]
            raise ModelLoadError(
                f"{source}: no such model folder, and as a Hub model id it cannot be loaded either "
                f"({type(error).__name__}: {reason})"
            ) from error
        raise _load_error(source, CONFIG_NAME, error) from error
    if model_type not in MODEL_TYPES:
        shipped_code = "; code shipped with a model (auto_map) is never run" if "auto_map" in config_dict else ""
        raise ModelLoadError(
            f"{_file(source, CONFIG_NAME)}: model_type {model_type!r} is not an hf_rnn model "
            f"(expected one of {', '.join(sorted(MODEL_TYPES))}){shipped_code}."
        )
    if exported:
        try:
            model = OnnxClassifier(source, config)
        except MissingExtraError:
            raise
        except Exception as error:  # onnxruntime's own exception types
            raise _load_error(source, ONNX_FILENAME, error) from error
    else:
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                source,
                config=config,
                use_safetensors=True,
                trust_remote_code=False,
                ignore_mismatched_sizes=True,  # reported below, with the other mismatches, as one error
                output_loading_info=True,
            )
        except Exception as error:
            raise _load_error(source, SAFE_WEIGHTS_NAME, error) from error
        problems = {kind: sorted(info[f"{kind}_keys"]) for kind in ("missing", "unexpected", "mismatched")}
        if any(problems.values()):
            found = "; ".join(
                f"{kind}: {', '.join(map(_weight_name, keys[:5]))}" for kind, keys in problems.items() if keys
            )
            raise ModelLoadError(f"{_file(source, SAFE_WEIGHTS_NAME)}: does not match {CONFIG_NAME} ({found}).")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except Exception as error:
        raise _load_error(source, TOKENIZER_FILE, error) from error
    if len(tokenizer) <= len(tokenizer.all_special_ids):
        raise ModelLoadError(
            f"{_file(source, TOKENIZER_FILE)}: the vocabulary holds only special tokens "
            f"({', '.join(tokenizer.all_special_tokens)}), so every text would read as unknown words."
        )
    if len(tokenizer) > config.vocab_size:
        raise ModelLoadError(
            f"{_file(source, TOKENIZER_FILE)}: the tokenizer has {len(tokenizer)} tokens but {CONFIG_NAME} has "
            f"vocab_size {config.vocab_size}; they do not belong together."
        )
    for name in ("pad_token_id", "unk_token_id"):
        expected = getattr(config, name, None)
        if expected is not None and getattr(tokenizer, name) != expected:
            raise ModelLoadError(
                f"{_file(source, TOKENIZER_FILE)}: {name} is {getattr(tokenizer, name)} but {expected} in "
                f"{CONFIG_NAME}; the tokenizer does not belong to this model."
            )
    return model.eval(), tokenizer


def _looks_local(source: str) -> bool:
    """Whether `source` can only be meant as a local path: not of the `name` or `owner/name` form of a Hub id, or
    written as a path (`./`, `../`, `~`, absolute), or offline mode is on (a Hub id could not be fetched anyway)."""
    if os.path.isabs(source) or source.startswith((".", "~")) or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return True
    return source.count("/") > 1 or "\\" in source or os.path.exists(source)


def validate_texts(texts: Iterable[str]) -> list[str]:
    """Return `texts` as a list, raising `TypeError` for anything but an iterable of strings."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"expected a list of texts, got a single {type(texts).__name__}; wrap it in a list.")
    if not isinstance(texts, Iterable):
        raise TypeError(f"expected a list of texts (str), got {type(texts).__name__}.")
    checked = list(texts)
    for index, text in enumerate(checked):
        if not isinstance(text, str):
            raise TypeError(f"text {index} is {type(text).__name__}, expected str.")
    return [_encodable(text) for text in checked]


def _encodable(text: str) -> str:
    """
    `text` as a string the tokenizer can encode. A string holding surrogates (bytes that were not UTF-8, decoded
    with `surrogateescape`, as Python does for command-line arguments) gets those bytes back and decoded like a data
    file: as UTF-8 if they are, else as Latin-1; a lone surrogate that is no such byte becomes U+FFFD.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return "".join("\ufffd" if 0xD800 <= ord(character) <= 0xDFFF else character for character in text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_ENCODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ENCODERS_LOCK = threading.Lock()


def _token_ids(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> list[list[int]]:
    """
    Untruncated token ids of each text, computed without touching the tokenizer's shared settings.

    A fast tokenizer keeps truncation and padding as state of its Rust backend, which every `__call__` sets: a call
    without truncation from one thread switches it off under another thread's call with `truncation=True` (a
    pipeline) before that one encodes. Fast tokenizers are therefore encoded here with a private copy of the backend,
    made once per tokenizer (again if its vocabulary grows), with truncation and padding off.
    """
    if not tokenizer.is_fast:
        return tokenizer(texts, truncation=False, verbose=False)["input_ids"]
    with _ENCODERS_LOCK:
        size, encoder = _ENCODERS.get(tokenizer, (None, None))
        if size != len(tokenizer):
            encoder = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            encoder.no_truncation()
            encoder.no_padding()
            _ENCODERS[tokenizer] = (len(tokenizer), encoder)
    return [encoding.ids for encoding in encoder.encode_batch(texts)]


def predict_proba(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Iterable[str],
    batch_size: int = 64,
    max_length: int | None = None,
) -> np.ndarray:
    """
    Class probabilities of each text, in input order.

    Questions are batched by length (less padding) and truncated to `max_length` tokens (default: the tokenizer's
    `model_max_length`), with a warning naming how many were cut. Any string is a valid text, the empty one
    included; the answer for a text does not depend on the others (up to float rounding, below 1e-6). Safe to
    call from several threads at once on one model and tokenizer.

    Returns:
        `np.ndarray` of shape `(len(texts), num_labels)`: softmax rows summing to 1, or for a multi-label model
        the sigmoid of each label.
    """
    texts = validate_texts(texts)
    max_length = tokenizer.model_max_length if max_length is None else max_length
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    encoded = _token_ids(tokenizer, texts)
    too_long = [index for index, ids in enumerate(encoded) if len(ids) > max_length]
    if too_long:
        shown = ", ".join(map(str, too_long[:5])) + (", ..." if len(too_long) > 5 else "")
        warnings.warn(
            f"{len(too_long)} text(s) longer than {max_length} tokens were truncated to {max_length} tokens "
            f"(text index {shown}).",
            stacklevel=2,
        )
    multi_label = getattr(model.config, "problem_type", None) == "multi_label_classification"
    scores = torch.sigmoid if multi_label else lambda logits: torch.softmax(logits, dim=-1)
    order = sorted(range(len(texts)), key=lambda index: len(encoded[index]))
    probabilities = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    device = model.device  # an `OnnxClassifier` (exported model) is on the CPU and takes the same call
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad(
                {"input_ids": [encoded[index][:max_length] for index in rows]}, return_tensors="pt"
            ).to(device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            probabilities[rows] = scores(logits.float()).cpu().numpy()
    return probabilities


def predict(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Iterable[str],
    batch_size: int = 64,
    max_length: int | None = None,
    top_k: int | None = None,
) -> list[dict[str, object]] | list[list[dict[str, object]]]:
    """
    The most probable label of each text, with its probability: `[{"label": ..., "score": ...}, ...]`. For a
    multi-label model, each text gets the list of every label whose probability reaches the config's
    `multi_label_threshold`, most probable first. With `top_k`, each text gets the list of its `top_k` most
    probable labels (all of them if there are fewer), most probable first, as `pipeline(..., top_k=K)` gives.
    `max_length` and the truncation warning are those of [`predict_proba`].
    """
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    probabilities = predict_proba(model, tokenizer, texts, batch_size=batch_size, max_length=max_length)
    if top_k is not None:
        return [
            [
                {"label": model.config.id2label[int(index)], "score": float(row[index])}
                for index in np.argsort(-row, kind="stable")[:top_k]
            ]
            for row in probabilities
        ]
    if getattr(model.config, "problem_type", None) == "multi_label_classification":
        threshold = model.config.multi_label_threshold
        return [
            [
                {"label": model.config.id2label[int(index)], "score": float(row[index])}
                for index in np.argsort(-row, kind="stable")
                if row[index] >= threshold
            ]
            for row in probabilities
        ]
    best = probabilities.argmax(axis=-1)
    return [
        {"label": model.config.id2label[int(index)], "score": float(row[index])}
        for index, row in zip(best, probabilities)
    ]


def evaluation_columns(
    model: PreTrainedModel,
    source: str,
    text_column_names: list[str] | None = None,
    label_column_name: str | None = None,
) -> tuple[list[str] | None, str]:
    """
    The text and label columns to score `source` with: those given, else the ones the model was trained on (kept in
    its config), else the defaults of the data layer (for a Li & Roth file, the TREC column of the model's labels).
    """
    config = model.config
    text_columns = text_column_names or getattr(config, "text_column_names", None)
    label_column = label_column_name or getattr(config, "label_column_name", None)
    if trec.is_label_file(source):
        text_columns = ["text"]
        if label_column not in trec.LABEL_COLUMNS:
            label_column = trec.label_column_for(config.id2label.values())
    return text_columns, label_column or "label"


def evaluate_split(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    raw: RawSplit,
    text_column_names: list[str] | None = None,
    label_column_name: str | None = None,
    text_column_delimiter: str | None = None,
    batch_size: int = 64,
) -> dict[str, object]:
    """
    Score one split of data (read by `read_data_file` or `read_dataset`) with the model's metrics: accuracy and the F1
    averages (multi-label models: subset accuracy and micro/macro-F1 at the config's threshold), and `n`. Gold
    labels are matched to the model's labels by name; a label the model does not know is an error naming it.
    """
    config = model.config
    text_columns, label_column = evaluation_columns(model, raw.source, text_column_names, label_column_name)
    multi_label = config.problem_type == "multi_label_classification"
    names = [config.id2label[index] for index in range(config.num_labels)]
    delimiter = (
        text_column_delimiter if text_column_delimiter is not None else getattr(config, "text_column_delimiter", " ")
    )
    data, _ = normalise(raw, text_columns, delimiter, label_column, multi_label, names)
    probabilities = predict_proba(model, tokenizer, data["text"], batch_size=batch_size)
    if multi_label:
        references = multi_hot(data["label"], config.num_labels)
        predictions = (probabilities >= config.multi_label_threshold).astype(np.int64)
    else:
        references, predictions = data["label"], probabilities.argmax(axis=-1)
    metrics = classification_metrics(references, predictions, config.num_labels, multi_label=multi_label)
    return {**metrics, "n": len(data), "label_column": label_column, "source": raw.source}


def evaluate_file(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    path: str | os.PathLike,
    batch_size: int = 64,
    **columns,
) -> dict[str, object]:
    """Score a data file of any supported format (`evaluate_split`); `columns` as there."""
    return evaluate_split(model, tokenizer, read_data_file(path), batch_size=batch_size, **columns)


def evaluate_dataset(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset_name: str,
    split: str = "test",
    dataset_config_name: str | None = None,
    batch_size: int = 64,
    **columns,
) -> dict[str, object]:
    """Score split `split` of a dataset (Hub id or local folder) (`evaluate_split`); `columns` as there."""
    splits = read_dataset(dataset_name, dataset_config_name)
    if split not in splits:
        raise DataError(f"dataset {dataset_name!r}: no {split!r} split (it has {', '.join(splits)}).")
    return evaluate_split(model, tokenizer, splits[split], batch_size=batch_size, **columns)
