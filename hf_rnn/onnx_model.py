"""
Running an exported hf_rnn classifier (`hf-rnn export`: `model.onnx` beside the config and the tokenizer) with ONNX
Runtime, behind the small part of the PyTorch model's interface that `hf_rnn.inference` uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedConfig
from transformers.modeling_outputs import SequenceClassifierOutput

from .optional import require

ONNX_FILENAME = "model.onnx"
#: Names of the exported graph's inputs and output.
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"
#: Keys of the ONNX model's `metadata_props` written by `hf_rnn.export`.
QUANTIZATION_KEY = "hf_rnn_quantization"


def is_onnx_dir(path: str | os.PathLike) -> bool:
    """Whether `path` is a directory holding an exported model (`model.onnx`)."""
    return os.path.isfile(os.path.join(path, ONNX_FILENAME))


class OnnxClassifier:
    """
    An exported classifier run by an `onnxruntime.InferenceSession` on the CPU. Like the PyTorch model it has a
    `config`, a `device` and a `__call__(input_ids=..., attention_mask=...)` returning an output with `.logits` (a
    float32 `torch.Tensor`), so `predict_proba`, `predict` and `evaluate_file` take either.

    Args:
        path: The exported directory (or the `.onnx` file itself).
        config: The model's configuration (`config.json` of the exported directory).
        num_threads: ONNX Runtime intra-op threads (default: `torch.get_num_threads()`, which `--num_threads` and
            `HF_RNN_NUM_THREADS` set).
    """

    device = torch.device("cpu")

    def __init__(self, path: str | os.PathLike, config: PreTrainedConfig, num_threads: int | None = None):
        ort = require("onnxruntime", "export", "running an exported (ONNX) model")
        path = Path(path)
        self.path = path / ONNX_FILENAME if path.is_dir() else path
        self.config = config
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: shape-annotation warnings of the exporter are noise here
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        names = tuple(node.name for node in self.session.get_inputs())
        if names != INPUT_NAMES:
            raise ValueError(f"{self.path}: inputs {names}, expected {INPUT_NAMES}; export it with `hf-rnn export`.")
        self.quantization = self.session.get_modelmeta().custom_metadata_map.get(QUANTIZATION_KEY)

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray | None = None) -> np.ndarray:
        """Logits `(batch, num_labels)` of int64 token ids and attention mask of shape `(batch, length)`."""
        input_ids = np.asarray(input_ids, dtype=np.int64)
        if attention_mask is None:
            attention_mask = np.ones_like(input_ids)
        attention_mask = np.asarray(attention_mask, dtype=np.int64)
        if input_ids.ndim != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"expected input_ids and attention_mask of one shape (batch, length), got {input_ids.shape} and "
                f"{attention_mask.shape}."
            )
        if input_ids.shape[0] == 0:
            return np.zeros((0, self.config.num_labels), dtype=np.float32)
        if input_ids.shape[1] == 0:  # as the PyTorch model does: empty rows read one padding token
            input_ids = np.full((input_ids.shape[0], 1), self.config.pad_token_id or 0, dtype=np.int64)
            attention_mask = np.zeros_like(input_ids)
        (logits,) = self.session.run([OUTPUT_NAME], {"input_ids": input_ids, "attention_mask": attention_mask})
        return logits

    def __call__(
        self, input_ids: torch.Tensor | np.ndarray, attention_mask: torch.Tensor | np.ndarray | None = None, **kwargs
    ) -> SequenceClassifierOutput:
        if kwargs.get("inputs_embeds") is not None or kwargs.get("labels") is not None:
            raise ValueError("an exported model takes input_ids and attention_mask only.")
        as_numpy = [
            value.cpu().numpy() if isinstance(value, torch.Tensor) else value for value in (input_ids, attention_mask)
        ]
        return SequenceClassifierOutput(logits=torch.from_numpy(self.logits(*as_numpy)))

    def eval(self) -> OnnxClassifier:
        """No-op, for code written for PyTorch models."""
        return self

    def __repr__(self) -> str:
        kind = f", {self.quantization}" if self.quantization else ""
        return f"OnnxClassifier({self.path}{kind}, {self.config.model_type}, {self.config.num_labels} labels)"
