"""Serving section: a trained student against its teacher on one CPU thread, PyTorch and ONNX (fp32, int8).

Rows, measured in the same run and taking turns pass by pass (`scripts.common.throughput`): the teacher (PyTorch,
`--serving_teacher`, any fine-tuned transformers classifier folder), the student (PyTorch, `--serving_model`, an
hf_rnn model folder), and the student exported by `hf_rnn.export.export_onnx` into a temporary folder, fp32 and int8.
Each gets texts per second at batch sizes 1 and 64 (tokenizer + model, the validation texts of the TREC split in file
order; keyed by the batch size as a string, as in the JSON file), the p50 / p99 latency of one text (the batch-1
calls, tokenization included), its size in MB (weights and tokenizer files) and its validation accuracy where its
labels are the data's. A row that cannot run (no teacher given,
onnxruntime missing, a failed export) is kept as skipped, with the reason. Always on the CPU, whatever `--device`.
"""

from __future__ import annotations

import json
import os
import tempfile

from hf_rnn.data import label_names
from hf_rnn.training import PreparedRun
from hf_rnn.training_args import DataArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.common.throughput import TextClassifier, latency_ms, measure, model_size_mb, one_cpu_thread

ROWS = {
    "teacher": "teacher, PyTorch",
    "student": "student, PyTorch",
    "student_onnx_fp32": "student, ONNX fp32",
    "student_onnx_int8": "student, ONNX int8",
}
BATCH_SIZES = (1, 64)


def exported_rows(model_dir: str, scratch: str) -> tuple[dict[str, str], dict[str, str]]:
    """The student exported to ONNX fp32 and int8 in `scratch`: the folders made, and the reasons of those not."""
    from hf_rnn.export import ExportError, export_onnx
    from hf_rnn.optional import MissingExtraError

    folders, skipped = {}, {}
    for quantize in (None, "int8"):
        name = f"student_onnx_{quantize or 'fp32'}"
        try:
            folders[name] = export_onnx(model_dir, os.path.join(scratch, name), quantize=quantize)["output_dir"]
        except MissingExtraError as error:
            skipped[name] = str(error)
        except ExportError as error:
            skipped[name] = f"export failed: {error}"
    return folders, skipped


def validation_accuracy(classifier: TextClassifier, texts: list[str], labels: list[str]) -> float | None:
    """Accuracy on the validation texts (batch 64), or None when the model's label names are not the data's."""
    id2label = classifier.model.config.id2label
    if sorted(id2label.values()) != sorted(set(labels)):
        return None
    predicted = [
        id2label[index] for start in range(0, len(texts), 64) for index in classifier(texts[start : start + 64])
    ]
    return sum(guess == label for guess, label in zip(predicted, labels)) / len(labels)


def bench_serving(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, data_args: DataArguments, device: object
) -> dict[str, object]:
    """The serving table (`--serving_model`, optionally `--serving_teacher`), or why it was not measured."""
    if not bench.serving_model:
        return {"skipped": "no --serving_model given"}
    validation = run.data["validation"]
    texts = list(validation["text"])
    labels = [label_names(run.data)[index] for index in validation["label"]]
    folders: dict[str, str] = {"student": bench.serving_model}
    skipped = {} if bench.serving_teacher else {"teacher": "no --serving_teacher given"}
    if bench.serving_teacher:
        folders = {"teacher": bench.serving_teacher, **folders}
    with tempfile.TemporaryDirectory() as scratch:
        exported, not_exported = exported_rows(bench.serving_model, scratch)
        folders.update(exported)
        skipped.update(not_exported)
        with one_cpu_thread():  # ONNX Runtime sessions take the thread count at creation
            classifiers = {name: TextClassifier.from_dir(folder) for name, folder in folders.items()}
            measured = {size: measure(classifiers, texts, size, plan.serving_repeats) for size in BATCH_SIZES}
            accuracy = {
                name: validation_accuracy(classifier, texts, labels) for name, classifier in classifiers.items()
            }
        sizes = {name: model_size_mb(folder) for name, folder in folders.items()}
    rows: dict[str, dict] = {}
    for name, description in ROWS.items():
        if name in skipped:
            rows[name] = {"description": description, "skipped": skipped[name]}
            continue
        rows[name] = {
            "description": description,
            "size_mb": sizes[name],
            "validation_accuracy": accuracy[name],
            "texts_per_second": {str(size): measured[size][name]["texts_per_second"] for size in BATCH_SIZES},
            "latency_ms": latency_ms(measured[1][name]["call_seconds"]),
        }
    if "texts_per_second" in rows["teacher"]:
        teacher = rows["teacher"]["texts_per_second"]
        for row in rows.values():
            if "texts_per_second" in row:
                row["over_teacher"] = {size: rate / teacher[size] for size, rate in row["texts_per_second"].items()}
    print(f"serving: {json.dumps({name: row.get('texts_per_second', 'skipped') for name, row in rows.items()})}")
    return {"texts": len(texts), "repeats": plan.serving_repeats, "batch_sizes": list(BATCH_SIZES), "rows": rows,
            "student": bench.serving_model, "teacher": bench.serving_teacher}  # fmt: skip
