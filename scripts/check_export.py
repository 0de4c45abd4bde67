"""
The export checks of a trained model, on the real TREC training file: ONNX (fp32) logits against PyTorch's on every
question at batch sizes 1 and 64 (right and left padding), the int8 export's test accuracy against fp32 on the model's
own held-out split, and questions per second of PyTorch, ONNX fp32 and ONNX int8 (model only, tokens prepared; one
thread).

    python -m scripts.check_export --model_dir DIR [--output_dir OUT] [--results_file FILE]

`DIR` is a directory written by `hf-rnn train` on the TREC training file with the default split options (its test
split is cut again here, with the same seed). Without `--model_dir`, a default LSTM is trained first (a few minutes on
one thread). Results are printed and written as JSON (default: `OUT/export_check.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hf_rnn.data import label_names
from hf_rnn.data.trec import default_train_file
from hf_rnn.export import TOLERANCE, export_onnx
from hf_rnn.inference import load_classifier, predict_proba
from hf_rnn.threads import configure_threads
from hf_rnn.training_args import DataArguments

BATCH_SIZES = (1, 64)


def read_questions(path: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in path.read_bytes().decode("latin-1").splitlines() if line.strip()]


def batches(tokenizer, encoded: list[list[int]], batch_size: int, side: str) -> list[dict[str, torch.Tensor]]:
    """Length-sorted batches (as `predict_proba` makes them), padded on `side`; with the rows' original indices."""
    order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
    previous, tokenizer.padding_side = tokenizer.padding_side, side
    try:
        made = []
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[index] for index in rows]}, return_tensors="pt")
            made.append({"rows": rows, "input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]})
        return made
    finally:
        tokenizer.padding_side = previous


def all_logits(model, prepared: list[dict[str, torch.Tensor]], count: int) -> tuple[np.ndarray, float]:
    """Logits of every row, in input order, and the seconds the model calls took."""
    logits = None
    elapsed = 0.0
    with torch.inference_mode():
        for batch in prepared:
            start = time.perf_counter()
            found = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            elapsed += time.perf_counter() - start
            if logits is None:
                logits = np.zeros((count, found.shape[-1]), dtype=np.float32)
            logits[batch["rows"]] = found.float().numpy()
    return logits, elapsed


def accuracy(model, tokenizer, test) -> float:
    names = label_names(test)
    gold = np.array([model.config.label2id[names[label]] for label in test["label"]])
    return float((predict_proba(model, tokenizer, list(test["text"])).argmax(axis=-1) == gold).mean())


def train_default_lstm(train_file: Path, output_dir: Path) -> None:
    from hf_rnn.cli import main

    main(["train", "--train_file", str(train_file), "--output_dir", str(output_dir), "--model_type", "lstm"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_dir", type=Path, help="Trained model directory (default: train a default LSTM).")
    parser.add_argument("--train_file", type=Path, default=default_train_file())
    parser.add_argument("--output_dir", type=Path, help="Where the exports go (default: a temporary folder).")
    parser.add_argument("--results_file", type=Path, help="JSON results (default: OUTPUT_DIR/export_check.json).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed passes per measurement (median kept).")
    args = parser.parse_args(argv)
    configure_threads(1)
    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="hf_rnn-export-check-"))
    output_dir.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir
    if model_dir is None:
        model_dir = output_dir / "lstm"
        train_default_lstm(args.train_file, model_dir)
    exports = {}
    for quantize in (None, "int8"):
        target = output_dir / f"onnx-{quantize or 'fp32'}"
        exports[quantize or "fp32"] = export_onnx(model_dir, target, quantize=quantize)
    models = {"pytorch": load_classifier(model_dir)}
    models["onnx_fp32"] = load_classifier(output_dir / "onnx-fp32")
    models["onnx_int8"] = load_classifier(output_dir / "onnx-int8")
    tokenizer = models["pytorch"][1]

    questions = read_questions(args.train_file)
    encoded = [tokenizer(question, truncation=True)["input_ids"] for question in questions]
    results: dict = {
        "model_dir": os.fspath(model_dir),
        "questions": len(questions),
        "exports": exports,
        "parity": {},
        "throughput": {},
    }
    for batch_size in BATCH_SIZES:
        for side in ("right", "left") if batch_size > 1 else ("right",):
            prepared = batches(tokenizer, encoded, batch_size, side)
            timings: dict[str, list[float]] = {name: [] for name in models}
            logits = {}
            for _ in range(args.repeats):
                for name, (model, _) in models.items():
                    logits[name], seconds = all_logits(model, prepared, len(questions))
                    timings[name].append(seconds)
            key = f"batch_{batch_size}_{side}_padding"
            difference = float(np.abs(logits["onnx_fp32"] - logits["pytorch"]).max())
            results["parity"][key] = {
                "max_abs_difference_fp32": difference,
                "within_tolerance": difference <= TOLERANCE,
                "max_abs_difference_int8": float(np.abs(logits["onnx_int8"] - logits["pytorch"]).max()),
                "argmax_agreement_int8": float(
                    (logits["onnx_int8"].argmax(-1) == logits["pytorch"].argmax(-1)).mean()
                ),
            }
            results["throughput"][key] = {
                name: round(len(questions) / statistics.median(values), 1) for name, values in timings.items()
            }
    data_args = DataArguments(train_file=str(args.train_file))
    test = data_args.load_splits()["test"]
    scores = {name: accuracy(model, tokenizer, test) for name, (model, tokenizer) in models.items()}
    results["test_accuracy"] = {"n": len(test), **scores}
    results["int8_minus_fp32_points"] = round(100 * (scores["onnx_int8"] - scores["onnx_fp32"]), 3)
    results["fp32_equals_pytorch_accuracy"] = scores["onnx_fp32"] == scores["pytorch"]
    results["environment"] = {
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "threads": torch.get_num_threads(),
    }
    results_file = args.results_file or output_dir / "export_check.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    json.dump(results, sys.stdout, indent=2)
    print()
    return results


if __name__ == "__main__":
    main()
