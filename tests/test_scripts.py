"""The scripts' packages: the benchmark's modules import and render, and the one hand-written loop trains."""

import importlib
import json
import math
import re
from pathlib import Path

import pytest
import torch
from transformers.trainer_callback import PrinterCallback

from hf_rnn.training import build_trainer, prepare_run
from hf_rnn.training_args import DataArguments, ModelArguments
from scripts.baselines import plain_pytorch_lstm
from scripts.benchmark.arguments import BenchmarkArguments
from scripts.benchmark.report import markdown
from scripts.benchmark.training import plain_loop, training_arguments

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_MODULES = sorted(path.stem for path in (ROOT / "scripts" / "benchmark").glob("[!_]*.py"))


@pytest.mark.parametrize("name", BENCHMARK_MODULES)
def test_benchmark_module_imports(name):
    """Every section module imports, and stays short (one section each)."""
    module = importlib.import_module(f"scripts.benchmark.{name}")
    assert module.__doc__
    assert len(Path(module.__file__).read_text().splitlines()) <= 300


def test_report_renders_the_committed_results():
    report = json.loads((ROOT / "results" / "benchmark.json").read_text())
    text = markdown(report)
    headings = re.findall(r"^#+ (\w+)", text, flags=re.MULTILINE)
    assert headings[:3] == ["hf_rnn", "Targets", "Training"]
    assert {"Inference", "Scaling", "Profile", "Threads"} <= set(headings)
    for table in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        widths = {line.count("|") for line in table.splitlines() if "`|`" not in line}
        assert len(widths) == 1, table


def tiny_data_args(path: Path) -> DataArguments:
    """The tiny file as every split (too few questions to cut validation and test splits from it)."""
    return DataArguments(train_file=str(path), validation_file=str(path), test_file=str(path))


def test_plain_loop_does_what_the_trainer_does(tiny_label_file, tmp_path):
    """Same initial weights, optimizer, schedule, clipping and batches: two epochs end on the Trainer's weights."""
    bench = BenchmarkArguments(train_file=str(tiny_label_file))
    device = torch.device("cpu")
    args = training_arguments(
        bench, device, str(tmp_path), 2, per_device_train_batch_size=8, eval_strategy="no", save_strategy="no",
        load_best_model_at_end=False,
    )  # fmt: skip
    data_args = tiny_data_args(tiny_label_file)
    run = prepare_run(ModelArguments(), data_args, args)
    model_args = ModelArguments(model_type="lstm")
    trainer = build_trainer(run, args, run.model_init(model_args, data_args))
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    plain = plain_loop(run, data_args, model_args, args, device, "fp32")
    initial = [param.detach().clone() for param in plain.model.parameters()]
    seconds = plain.train(2)
    assert len(seconds) == 2 and plain.epoch == 2
    assert plain.scheduler.last_epoch == 2 * math.ceil(len(run.encoded["train"]) / 8)  # a step per batch
    trained = list(plain.model.parameters())
    assert not all(torch.equal(before, after) for before, after in zip(initial, trained))
    for (name, expected), actual in zip(trainer.model.named_parameters(), trained):
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6, msg=f"{name} differs from the Trainer's")


def test_plain_pytorch_lstm_baseline_trains_one_epoch(tiny_label_file):
    results = plain_pytorch_lstm(tiny_data_args(tiny_label_file).load_splits(), seed=1, epochs=1)
    for prefix in ("train", "eval", "test"):
        assert 0.0 <= results[f"{prefix}_accuracy"] <= 1.0
    assert results["train_accuracy"] == results["test_accuracy"]  # the same questions, the same model
    assert results["wall_seconds"] > 0
