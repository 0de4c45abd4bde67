"""
Export a saved hf_rnn classifier to ONNX, optionally with int8 weights, as a model directory of its own.

`export_onnx(model_dir, output_dir)` writes `output_dir/model.onnx` (inputs `input_ids` and `attention_mask` of shape
`(batch, sequence)`, both dynamic; output `logits` of shape `(batch, num_labels)`) beside copies of `config.json`, the
tokenizer files and the model card files, so that `hf-rnn evaluate`, `hf-rnn predict`, `hf-rnn demo` and
`hf_rnn.inference.load_classifier` take `output_dir` as they take a PyTorch directory (ONNX Runtime underneath).

The graph is traced by `torch.onnx.export` through the model's tracing path (no packed sequence, no host copy, no
data-dependent branch; see `hf_rnn.modeling_hf_rnn`), so the attention mask is honoured on either padding side and
every recurrent layer is one ONNX `LSTM`, `GRU` or `RNN` node per direction. `quantize="int8"` then applies ONNX
Runtime's dynamic quantization (`onnxruntime.quantization.quantize_dynamic`: int8 weights for the embedding, the LSTM
and the matrix products, activations quantized on the fly). Every export is checked before it is kept: ONNX Runtime
and PyTorch must give the same logits (within `TOLERANCE`, fp32) on left- and right-padded probe batches.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers.tokenization_utils_base import SPECIAL_TOKENS_MAP_FILE

from .inference import TOKENIZER_FILES, load_classifier
from .onnx_model import INPUT_NAMES, ONNX_FILENAME, OUTPUT_NAME, QUANTIZATION_KEY, OnnxClassifier, is_onnx_dir
from .optional import require

#: Largest absolute difference allowed between ONNX Runtime's and PyTorch's fp32 logits.
TOLERANCE = 1e-4
DEFAULT_OPSET = 17
QUANTIZATIONS = ("int8",)
#: Files copied from the model directory when present; `config.json` is copied without its `auto_map` (the exported
#: directory carries no PyTorch code or weights).
COPIED_FILES = (
    *TOKENIZER_FILES,
    SPECIAL_TOKENS_MAP_FILE,
    "README.md",
    "training_curve.png",
    "confusion_matrix.png",
    "results.json",
)
PROBE_QUESTIONS = (
    "Who wrote Hamlet ?",
    "What is the capital of Australia ?",
    "How many feet are in a mile ?",
    "Why is the sky blue ?",
    "Where is the Eiffel Tower ?",
    "What does NASA stand for ?",
    "When did the Berlin Wall fall ?",
    "?",
)


class ExportError(RuntimeError):
    """An export that did not produce a model; the message is one line."""


class _Logits(nn.Module):
    """The classifier as a function of `(input_ids, attention_mask)` returning the logits only."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).logits


def probe_batches(tokenizer, vocab_size: int) -> list[dict[str, torch.Tensor]]:
    """Right- and left-padded batches of the probe questions, plus random ids with padding on both sides."""
    batches = []
    side = tokenizer.padding_side
    try:
        for padding_side in ("right", "left"):
            tokenizer.padding_side = padding_side
            batches.append(dict(tokenizer(list(PROBE_QUESTIONS), padding=True, return_tensors="pt")))
    finally:
        tokenizer.padding_side = side
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(2, max(vocab_size, 3), (5, 9), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, :3] = 0
    attention_mask[1, 6:] = 0
    attention_mask[2, :2] = 0
    attention_mask[2, 7:] = 0
    attention_mask[3] = 0
    batches.append({"input_ids": input_ids * attention_mask, "attention_mask": attention_mask})
    return batches


def _max_difference(model: nn.Module, onnx_model: OnnxClassifier, batches: list[dict[str, torch.Tensor]]) -> float:
    worst = 0.0
    with torch.inference_mode():
        for batch in batches:
            expected = model(**batch).numpy()
            found = onnx_model.logits(batch["input_ids"].numpy(), batch["attention_mask"].numpy())
            worst = max(worst, float(np.abs(found - expected).max()))
    return worst


def _example_batch(vocab_size: int) -> dict[str, torch.Tensor]:
    """
    The batch the graph is traced with: 3 rows of 7 tokens (no size 0 or 1, which `torch.export` specializes, and
    batch != length, which it would otherwise tie together), one row unpadded, one right- and one left-padded.
    """
    input_ids = torch.randint(2, max(vocab_size, 3), (3, 7), generator=torch.Generator().manual_seed(0))
    attention_mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [0] * 3 + [1] * 4])
    return {"input_ids": input_ids * attention_mask, "attention_mask": attention_mask}


def _export_graph(wrapper: nn.Module, example: dict[str, torch.Tensor], path: Path, opset: int) -> None:
    """
    Trace `wrapper` with the TorchScript-based exporter (`dynamo=False`), which keeps every recurrent layer one ONNX
    `LSTM`/`GRU`/`RNN` node over a dynamic length. The `torch.export`-based exporter does too for the LSTM and the GRU,
    but in torch 2.13 only for the first export of a process (its while-loop decomposition does not restore cleanly),
    and it fixes the length of a simple RNN to the example's.
    """
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dynamic_axes[OUTPUT_NAME] = {0: "batch"}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
            torch.onnx.export(
                wrapper,
                (example["input_ids"], example["attention_mask"]),
                str(path),
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
            )
    except Exception as error:  # the exporter raises many types; one line says which and why
        reason = " ".join(str(error).split())[:400]
        raise ExportError(f"torch.onnx.export failed ({type(error).__name__}: {reason})") from error


def _set_metadata(path: Path, quantization: str) -> int:
    """Record the quantization in the model's metadata, drop the example-size annotations; return the opset."""
    onnx = require("onnx", "export", "hf-rnn export")
    model = onnx.load(str(path))
    del model.graph.value_info[:]  # intermediate shapes from the example batch; ONNX Runtime infers its own
    for output in model.graph.output:  # logits: (batch, num_labels), whatever the example's batch size
        output.type.tensor_type.shape.dim[0].dim_param = "batch"
    entry = next((prop for prop in model.metadata_props if prop.key == QUANTIZATION_KEY), None)
    if entry is None:
        entry = model.metadata_props.add()
        entry.key = QUANTIZATION_KEY
    entry.value = quantization
    onnx.save(model, str(path))
    return next((item.version for item in model.opset_import if item.domain in ("", "ai.onnx")), 0)


def _quantize_int8(source: Path, target: Path) -> None:
    quantization = require("onnxruntime.quantization", "export", "hf-rnn export --quantize int8")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint on the root logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantization.quantize_dynamic(str(source), str(target), weight_type=quantization.QuantType.QInt8)
    finally:
        root.setLevel(level)


def _copy_model_files(model_dir: Path, output_dir: Path, quantization: str, opset: int) -> None:
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    config.pop("auto_map", None)
    (output_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name in COPIED_FILES:
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, output_dir / name)
    card = output_dir / "README.md"
    if card.is_file():
        weights = "int8 weights (ONNX Runtime dynamic quantization)" if quantization == "int8" else "fp32 weights"
        card.write_text(
            card.read_text(encoding="utf-8").rstrip("\n")
            + f"""

## ONNX export

This directory holds the model exported to ONNX (`model.onnx`, opset {opset}, {weights}) by `hf-rnn export`, with
the tokenizer and configuration of the PyTorch model; it has no PyTorch weights or code. Inputs are `input_ids` and
`attention_mask` of shape `(batch, sequence)` (padding on either side), the output is `logits`. With `hf_rnn`
installed (`pip install "hf_rnn[export]"`), `hf-rnn predict`, `hf-rnn evaluate`, `hf-rnn demo` and
`hf_rnn.inference.load_classifier` read it as they read a PyTorch model directory.
""",
            encoding="utf-8",
        )


def export_onnx(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    quantize: str | None = None,
    opset: int = DEFAULT_OPSET,
) -> dict[str, object]:
    """
    Export the classifier saved in `model_dir` to `output_dir/model.onnx`, with copies of its config, tokenizer and
    card, so that `output_dir` is itself a model directory (read by `hf_rnn.inference.load_classifier`).

    Args:
        model_dir: A directory written by `hf-rnn train` (or `save_pretrained` of an hf_rnn model and its tokenizer).
        output_dir: Where to write; created if needed; must not be `model_dir`.
        quantize: `None` (fp32) or `"int8"` (dynamic quantization of the weights).
        opset: ONNX opset to export to.

    Returns:
        A summary: `output_dir`, `quantization`, `opset`, `size_bytes` of `model.onnx` and `max_abs_difference`, the
        largest difference between ONNX Runtime's and PyTorch's logits on the probe batches.

    Raises:
        `ExportError`: The export failed, or its fp32 logits differ from PyTorch's by more than `TOLERANCE`.
        `MissingExtraError`: onnx or onnxruntime is not installed (`pip install "hf_rnn[export]"`).
    """
    for module in ("onnx", "onnxruntime"):
        require(module, "export", "hf-rnn export")
    if quantize not in (None, *QUANTIZATIONS):
        raise ValueError(f"quantize must be None or one of {QUANTIZATIONS}, got {quantize!r}.")
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if is_onnx_dir(model_dir):
        raise ExportError(f"{model_dir} is already an exported (ONNX) model; export the PyTorch model directory.")
    if output_dir.resolve() == model_dir.resolve():
        raise ExportError(f"output_dir {output_dir} is the model directory; choose another one.")
    model, tokenizer = load_classifier(model_dir)
    model = model.float().eval()
    config = model.config
    batches = probe_batches(tokenizer, config.vocab_size)
    wrapper = _Logits(model).eval()
    output_dir.mkdir(parents=True, exist_ok=True)
    quantization = quantize or "fp32"
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".export-") as scratch:
        fp32_path = Path(scratch) / "fp32.onnx"
        _export_graph(wrapper, _example_batch(config.vocab_size), fp32_path, opset)
        opset = _set_metadata(fp32_path, "fp32")
        difference = _max_difference(wrapper, OnnxClassifier(fp32_path, config), batches)
        if not difference <= TOLERANCE:
            raise ExportError(
                f"the exported graph's logits differ from PyTorch's by {difference:.2e} (> {TOLERANCE:g}); not kept."
            )
        final_path = fp32_path
        if quantize == "int8":
            final_path = Path(scratch) / "int8.onnx"
            _quantize_int8(fp32_path, final_path)
            _set_metadata(final_path, quantization)
            difference = _max_difference(wrapper, OnnxClassifier(final_path, config), batches)
        os.replace(final_path, output_dir / ONNX_FILENAME)
    _copy_model_files(model_dir, output_dir, quantization, opset)
    return {
        "output_dir": os.fspath(output_dir),
        "quantization": quantization,
        "opset": opset,
        "size_bytes": (output_dir / ONNX_FILENAME).stat().st_size,
        "max_abs_difference": difference,
    }
