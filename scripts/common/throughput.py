"""
Texts per second and latency of text classifiers on one CPU thread: the one measurement shared by the recipe table
(`python -m scripts.reproduce --recipes ...`) and the benchmark's serving section (`scripts.benchmark.serving`).

What is timed is what a server does with raw text: the tokenizer (padding to the longest text of the batch,
truncation to the tokenizer's `model_max_length`), the model's forward pass and the argmax, `batch_size` texts at a
time, in the order given. One thread means one thread for everything: torch's intra-op threads, ONNX Runtime sessions
built inside `one_cpu_thread()`, and the tokenizers' Rust pool (`TOKENIZERS_PARALLELISM=false`). Classifiers measured
together take turns pass by pass (the order reversed every other pass), after one short warm-up each, so that load
shared by the machine falls on all of them alike; a rate is the median over the passes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedConfig

#: What a served model needs besides its code and `config.json`: weights (PyTorch or ONNX) and the tokenizer files.
WEIGHT_FILES = ("model.safetensors", "model.onnx")
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
    "vocab.json", "merges.txt", "spm.model", "sentencepiece.bpe.model", "tokenizer.model",
)  # fmt: skip
WARMUP_CALLS = 4

Classify = Callable[[list[str]], object]


def model_size_mb(model_dir: str | os.PathLike) -> float:
    """Megabytes (10^6 bytes) of the weights (`model.safetensors` or `model.onnx`) and tokenizer files of a folder."""
    folder = Path(model_dir)
    return sum((folder / name).stat().st_size for name in (*WEIGHT_FILES, *TOKENIZER_FILES)
               if (folder / name).is_file()) / 1e6  # fmt: skip


@contextlib.contextmanager
def one_cpu_thread() -> Iterator[None]:
    """One torch thread and no tokenizer parallelism inside; the previous settings restored after."""
    threads, parallelism = torch.get_num_threads(), os.environ.get("TOKENIZERS_PARALLELISM")
    torch.set_num_threads(1)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # read by the Rust side at every batch encoding
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if parallelism is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = parallelism


def load_text_classifier(model_dir: str | os.PathLike) -> tuple[object, object]:
    """
    The model (eval mode) and tokenizer of a classifier folder: an hf_rnn model, PyTorch or exported ONNX, through
    `hf_rnn.inference.load_classifier` (load an ONNX one inside `one_cpu_thread()`: its session takes the current
    thread count), any other transformers classifier (a teacher) through `AutoModelForSequenceClassification`.
    """
    from hf_rnn.inference import MODEL_TYPES, load_classifier

    config, _ = PreTrainedConfig.get_config_dict(os.fspath(model_dir))
    if config.get("model_type") in MODEL_TYPES:
        return load_classifier(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, trust_remote_code=False)
    return model.float().eval(), AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)


class TextClassifier:
    """Raw texts to predicted class ids: tokenizer + model + argmax (a PyTorch model or an `OnnxClassifier`)."""

    def __init__(self, model: object, tokenizer: object):
        from hf_rnn.inference import MODEL_TYPES

        self.model, self.tokenizer = model, tokenizer
        #: hf_rnn models (PyTorch or ONNX) take token ids and mask only, whatever else a borrowed tokenizer returns
        self.inputs = ("input_ids", "attention_mask") if model.config.model_type in MODEL_TYPES else None

    @classmethod
    def from_dir(cls, model_dir: str | os.PathLike) -> TextClassifier:
        return cls(*load_text_classifier(model_dir))

    def __call__(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        if self.inputs is not None:
            encoded = {name: encoded[name] for name in self.inputs}
        with torch.inference_mode():
            return self.model(**encoded).logits.argmax(-1).tolist()


def measure(
    classifiers: Mapping[str, Classify], texts: Sequence[str], batch_size: int = 64, repeats: int = 5
) -> dict[str, dict[str, object]]:
    """
    Each classifier classifying all `texts`, `batch_size` at a time, `repeats` times, the classifiers taking turns
    (call it inside `one_cpu_thread()` for the one-thread figures).

    Returns:
        For each name: `texts_per_second` (median over the passes), `pass_seconds` (each pass) and `call_seconds`
        (every call of every pass: with `batch_size=1`, the latency of one text, tokenization included).
    """
    if not texts or repeats < 1 or batch_size < 1:
        raise ValueError("measure needs texts, repeats >= 1 and batch_size >= 1.")
    chunks = [list(texts[start : start + batch_size]) for start in range(0, len(texts), batch_size)]
    names = list(classifiers)
    for name in names:  # warm-up: first calls allocate and pick kernels
        for chunk in chunks[:WARMUP_CALLS]:
            classifiers[name](chunk)
    passes: dict[str, list[float]] = {name: [] for name in names}
    calls: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            classify, begin = classifiers[name], time.perf_counter()
            for chunk in chunks:
                start = time.perf_counter()
                classify(chunk)
                calls[name].append(time.perf_counter() - start)
            passes[name].append(time.perf_counter() - begin)
    return {
        name: {"texts_per_second": len(texts) / statistics.median(passes[name]), "pass_seconds": passes[name],
               "call_seconds": calls[name]}
        for name in names
    }  # fmt: skip


def latency_ms(call_seconds: Sequence[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds of per-call times."""
    return {f"p{q}": 1e3 * float(np.percentile(call_seconds, q)) for q in (50, 99)}


def texts_per_second(
    model_dirs: Mapping[str, str | os.PathLike], texts: Sequence[str], batch_size: int = 64, repeats: int = 5
) -> dict[str, float]:
    """Texts per second of each model folder on one CPU thread (tokenizer + model), the folders taking turns."""
    with one_cpu_thread():
        classifiers = {name: TextClassifier.from_dir(path) for name, path in model_dirs.items()}
        results = measure(classifiers, texts, batch_size=batch_size, repeats=repeats)
    return {name: result["texts_per_second"] for name, result in results.items()}
