"""
The scripts' packages: the benchmark's modules import and render, the one hand-written loop trains, the shared
throughput helper measures, the serving section runs and renders, and the recipe runner parses as `hf-rnn train`.
"""

import importlib
import json
import math
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification
from transformers.trainer_callback import PrinterCallback

import hf_rnn.export
import hf_rnn.training
from hf_rnn import ARCHITECTURES
from hf_rnn.cli import main as hf_rnn_main
from hf_rnn.data import label_names
from hf_rnn.data.trec import COARSE_LABELS
from hf_rnn.distillation import SoftLabels, teacher_logits
from hf_rnn.optional import MissingExtraError
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training import build_trainer, prepare_run
from hf_rnn.training_args import DataArguments, ModelArguments
from scripts import evaluate_teachers, reproduce
from scripts.baselines import plain_pytorch_lstm
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.report import markdown
from scripts.benchmark.serving import bench_serving
from scripts.benchmark.training import plain_loop, training_arguments
from scripts.common.throughput import (
    TextClassifier,
    measure,
    model_size_mb,
    one_cpu_thread,
    texts_per_second,
)

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_MODULES = sorted(path.stem for path in (ROOT / "scripts" / "benchmark").glob("[!_]*.py"))


@pytest.mark.parametrize("name", BENCHMARK_MODULES)
def test_benchmark_module_imports(name):
    """Every section module imports, and stays short (one section each)."""
    module = importlib.import_module(f"scripts.benchmark.{name}")
    assert module.__doc__
    assert len(Path(module.__file__).read_text().splitlines()) <= 300


def assert_tables_well_formed(text: str) -> None:
    for table in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        widths = {line.count("|") for line in table.splitlines() if "`|`" not in line}
        assert len(widths) == 1, table


def test_report_renders_the_committed_results():
    report = json.loads((ROOT / "results" / "benchmark.json").read_text())
    text = markdown(report)
    headings = re.findall(r"^#+ (\w+)", text, flags=re.MULTILINE)
    assert headings[:3] == ["hf_rnn", "Targets", "Training"]
    assert {"Inference", "Scaling", "Profile", "Threads"} <= set(headings)
    assert_tables_well_formed(text)


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


TINY_QUESTIONS = [
    "Who wrote Hamlet ?", "What is the capital of Australia ?", "How many legs does a spider have ?",
    "Why is the sky blue ?", "When did the Berlin Wall fall ?", "What does NASA stand for ?",
]  # fmt: skip


def save_tiny_model(output_dir: Path, texts: list[str]) -> Path:
    """An untrained GRU (seeded) with a word tokenizer of `texts`, saved as `hf-rnn train` saves one."""
    config_class, _, classifier_class = ARCHITECTURES["gru"]
    tokenizer = train_tokenizer(texts)
    torch.manual_seed(0)
    labels = dict(enumerate(["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]))
    config = config_class(
        vocab_size=len(tokenizer), num_labels=6, embedding_dim=16, hidden_size=16, id2label=labels,
        label2id={label: index for index, label in labels.items()},
    )  # fmt: skip
    classifier_class(config).save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def test_throughput_helper_measures_a_student_and_a_teacher(tmp_path, minilm_dir):
    """One thread inside (restored after), a positive rate per model, one time per call; a transformers teacher."""
    student = save_tiny_model(tmp_path / "student", TINY_QUESTIONS)
    texts = TINY_QUESTIONS * 3
    before = torch.get_num_threads(), os.environ.get("TOKENIZERS_PARALLELISM")
    with one_cpu_thread():
        assert torch.get_num_threads() == 1 and os.environ["TOKENIZERS_PARALLELISM"] == "false"
        classifiers = {"student": TextClassifier.from_dir(student), "teacher": TextClassifier.from_dir(minilm_dir)}
        assert type(classifiers["teacher"].model).__name__ == "BertForSequenceClassification"
        results = measure(classifiers, texts, batch_size=4, repeats=2)
    assert (torch.get_num_threads(), os.environ.get("TOKENIZERS_PARALLELISM")) == before
    for result in results.values():
        assert result["texts_per_second"] > 0
        assert len(result["pass_seconds"]) == 2 and len(result["call_seconds"]) == 2 * math.ceil(len(texts) / 4)
    assert texts_per_second({"student": student}, texts, batch_size=64, repeats=1)["student"] > 0
    files = ("model.safetensors", "tokenizer.json", "tokenizer_config.json")
    assert model_size_mb(student) == pytest.approx(sum((student / name).stat().st_size for name in files) / 1e6)


def tiny_run(tiny_label_file: Path) -> SimpleNamespace:
    """What the serving section reads of a prepared run: the splits (the tiny file as every split)."""
    return SimpleNamespace(data=tiny_data_args(tiny_label_file).load_splits())


def test_serving_section_measures_exports_and_renders(tmp_path, tiny_label_file, minilm_dir):
    pytest.importorskip("onnxruntime", reason="the export extra is not installed (pip install -e '.[export]')")
    run = tiny_run(tiny_label_file)
    student = save_tiny_model(tmp_path / "student", list(run.data["train"]["text"]))
    bench = BenchmarkArguments(serving_model=str(student), serving_teacher=str(minilm_dir))
    plan = Plan.make(True, ["lstm"])
    plan.serving_repeats = 1
    result = bench_serving(bench, plan, run, None, torch.device("cpu"))
    rows = result["rows"]
    assert list(rows) == ["teacher", "student", "student_onnx_fp32", "student_onnx_int8"]
    assert not any("skipped" in row for row in rows.values())
    assert rows["teacher"]["validation_accuracy"] is None  # LABEL_0...: not the data's labels
    assert 0 <= rows["student_onnx_fp32"]["validation_accuracy"] == rows["student"]["validation_accuracy"] <= 1
    for row in rows.values():
        assert set(row["texts_per_second"]) == {"1", "64"} and min(row["texts_per_second"].values()) > 0
        assert 0 < row["latency_ms"]["p50"] <= row["latency_ms"]["p99"]
    assert rows["teacher"]["over_teacher"] == {"1": 1.0, "64": 1.0}
    report = json.loads((ROOT / "results" / "benchmark.json").read_text())
    report["serving"] = json.loads(json.dumps(result))  # as read back from benchmark.json
    text = markdown(report)
    assert "## Serving (one CPU thread, same run)" in text and "| student, ONNX int8 |" in text
    assert "serving: best student / teacher at batch size 64 >= 100x" in text
    assert_tables_well_formed(text)


def test_serving_rows_without_onnxruntime_or_teacher_are_skipped(tmp_path, tiny_label_file, monkeypatch):
    def missing(*args, **kwargs):
        raise MissingExtraError("hf-rnn export needs onnxruntime, which is not installed")

    monkeypatch.setattr(hf_rnn.export, "export_onnx", missing)
    run = tiny_run(tiny_label_file)
    student = save_tiny_model(tmp_path / "student", list(run.data["train"]["text"]))
    plan = Plan.make(True, ["lstm"])
    plan.serving_repeats = 1
    result = bench_serving(BenchmarkArguments(serving_model=str(student)), plan, run, None, torch.device("cpu"))
    rows = result["rows"]
    assert rows["teacher"]["skipped"] == "no --serving_teacher given"
    assert "onnxruntime" in rows["student_onnx_int8"]["skipped"] and "over_teacher" not in rows["student"]
    report = json.loads((ROOT / "results" / "benchmark.json").read_text())
    report["serving"] = result
    text = markdown(report)
    assert "| student, ONNX fp32 | skipped: hf-rnn export needs onnxruntime" in text
    assert "serving: best student" not in text
    assert_tables_well_formed(text)
    del report["serving"]
    for name in ("training", "inference", "scaling", "profile", "threads"):  # --sections left them out
        report.pop(name)
    report["section_seconds"] = {}
    assert "## Targets" not in markdown(report)


def write_tiny_recipe(folder: Path, tiny_label_file: Path) -> Path:
    """A recipe beside its data, naming the data by relative paths (as the shipped recipes do)."""
    folder.mkdir()
    shutil.copyfile(tiny_label_file, folder / "tiny.label")
    recipe = {"model_type": "gru", "train_file": "tiny.label", "validation_file": "tiny.label",
              "test_file": "tiny.label", "embedding_dim": 16, "hidden_size": 16, "num_train_epochs": 1,
              "per_device_train_batch_size": 16, "bidirectional": False, "report_to": ["none"]}  # fmt: skip
    (folder / "recipe.json").write_text(json.dumps(recipe))
    return folder / "recipe.json"


def test_recipe_runner_parses_a_recipe_as_hf_rnn_train_does(tmp_path, tiny_label_file, monkeypatch):
    recipe = write_tiny_recipe(tmp_path / "recipes", tiny_label_file)
    seen = []
    monkeypatch.setattr(hf_rnn.training, "train", lambda *arguments: seen.append(arguments) or {})
    output_dir = str(tmp_path / "out")
    hf_rnn_main(["train", str(recipe), "--seed", "3", "--output_dir", output_dir])
    (by_cli,) = seen
    mine = reproduce.recipe_arguments(str(recipe), 3, output_dir)
    for parsed, expected in zip(mine, by_cli):
        assert asdict(parsed) == asdict(expected)
    model_args, data_args, training_args = mine
    assert data_args.train_file == str(tmp_path / "recipes" / "tiny.label")  # found beside the recipe
    assert (model_args.model_type, model_args.bidirectional, training_args.seed) == ("gru", False, 3)
    assert (training_args.output_dir, training_args.num_train_epochs) == (output_dir, 1)


def test_recipe_table_end_to_end(tmp_path, tiny_label_file):
    recipe = write_tiny_recipe(tmp_path / "recipes", tiny_label_file)
    output_dir = tmp_path / "results"
    reproduce.main(["--recipes", str(recipe), "--seeds", "1,2", "--throughput_repeats", "1", "--output_dir",
                    str(output_dir), "--tag", "tiny", "--keep_models", str(tmp_path / "kept")])  # fmt: skip
    kept = sorted(path.name for path in (tmp_path / "kept").iterdir())
    assert kept == ["recipe-seed1", "recipe-seed2"]
    assert (tmp_path / "kept" / "recipe-seed1" / "model.safetensors").is_file()
    assert not list((tmp_path / "kept").glob("*/checkpoint-*"))
    report = json.loads((output_dir / "recipes-tiny.json").read_text())
    row = report["rows"]["recipe"]
    assert [run["seed"] for run in row["runs"]] == [1, 2] and row["model_type"] == "gru"
    for key in ("eval_accuracy", "test_accuracy", "wall_seconds", "size_mb", "texts_per_second"):
        assert row["summary"][key]["mean"] > 0
    assert report["teacher"] is None and "student_over_teacher" not in row
    text = (output_dir / "recipes-tiny.md").read_text()
    assert "| recipe | gru |" in text
    assert_tables_well_formed(text)

    # Two kept students stand in for a teacher ensemble: its rate is that of running both on each text.
    teachers = f"{tmp_path / 'kept' / 'recipe-seed1'},{tmp_path / 'kept' / 'recipe-seed2'}"
    reproduce.main(["--recipes", str(recipe), "--seeds", "1", "--throughput_repeats", "1", "--output_dir",
                    str(output_dir), "--tag", "taught", "--teacher_dir", teachers])  # fmt: skip
    report = json.loads((output_dir / "recipes-taught.json").read_text())
    row = report["rows"]["recipe"]
    first, second = row["teacher_member_texts_per_second"]
    assert row["teacher_texts_per_second"] == pytest.approx(first * second / (first + second))
    student_rate = row["summary"]["texts_per_second"]["mean"]
    assert row["student_over_teacher"] == pytest.approx(student_rate / row["teacher_texts_per_second"])
    assert report["teacher"]["size_mb"] == pytest.approx(2 * row["summary"]["size_mb"]["mean"], rel=0.01)
    assert_tables_well_formed((output_dir / "recipes-taught.md").read_text())
    with pytest.raises(SystemExit, match="--teacher_dir: no such folder: .*missing"):
        reproduce.main(["--recipes", str(recipe), "--teacher_dir", f"{teachers},{tmp_path / 'missing'}"])


def test_shipped_recipes_parse_and_their_soft_labels_cover_the_train_split(tmp_path, trec_train_file):
    recipes = sorted((Path(__file__).parents[1] / "recipes").glob("*.json"))
    assert [recipe.stem for recipe in recipes] == ["trec6-gru", "trec6-lstm", "trec6-rnn"]
    covered = set()
    for recipe in recipes:
        model_args, data_args, training_args = reproduce.recipe_arguments(str(recipe), 1, str(tmp_path / recipe.stem))
        assert model_args.embeddings_from.startswith("package:")  # nothing names a path of one machine
        soft_labels = training_args.teacher_soft_labels
        assert os.path.getsize(soft_labels) < 2 * 2**20
        if soft_labels in covered:
            continue
        covered.add(soft_labels)
        texts = list(data_args.load_splits()["train"]["text"])
        stored = SoftLabels.read(soft_labels)
        logits = stored.lookup(texts + stored.augmentation.apply(texts), list(COARSE_LABELS), soft_labels)
        assert logits.shape == (len(texts) * (1 + stored.augmentation.copies), 6) and np.isfinite(logits).all()


def test_teacher_evaluation_scores_each_teacher_and_their_ensemble(tmp_path, tiny_label_file):
    data = tiny_data_args(tiny_label_file).load_splits()
    first = save_tiny_model(tmp_path / "first", list(data["train"]["text"]))
    second = save_tiny_model(tmp_path / "second", list(data["train"]["text"]))
    shifted = AutoModelForSequenceClassification.from_pretrained(second)
    with torch.no_grad():
        shifted.classifier.bias += torch.linspace(-3.0, 3.0, 6)  # another teacher than the first
    shifted.save_pretrained(second)
    data_flags = ["--train_file", str(tiny_label_file), "--validation_file", str(tiny_label_file),
                  "--test_file", str(tiny_label_file)]  # fmt: skip
    evaluate_teachers.main(["--teacher_dirs", f"{first},{second}", "--output_dir", str(tmp_path / "results"),
                            *data_flags])  # fmt: skip
    scores = json.loads((tmp_path / "results" / "teachers.json").read_text())["scores"]
    assert list(scores) == ["first", "second", "ensemble"]
    texts, gold, names = list(data["test"]["text"]), np.asarray(data["test"]["label"]), label_names(data)
    first_scores, second_scores = (teacher_logits(folder, texts, names) for folder in (first, second))
    together = first_scores + second_scores  # the ensemble's argmax: that of the summed log-probabilities
    for name, logits in (("first", first_scores), ("second", second_scores), ("ensemble", together)):
        assert scores[name]["test"]["accuracy"] == pytest.approx((logits.argmax(axis=-1) == gold).mean())
    assert scores["first"]["test"] != scores["second"]["test"]
    assert_tables_well_formed((tmp_path / "results" / "teachers.md").read_text())
    with pytest.raises(SystemExit, match="--teacher_dirs: no such folder: .*missing"):
        evaluate_teachers.main(["--teacher_dirs", f"{first},{tmp_path / 'missing'}", *data_flags])
