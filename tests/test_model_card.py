"""The generated model card, checked whole against a real (tiny) training run: header, numbers, tables and images."""

import json
from pathlib import Path

import numpy as np
import pytest
import tomllib
import yaml
from huggingface_hub import ModelCard
from matplotlib.image import imread

from hf_rnn.cli import main
from hf_rnn.data import load_trec
from hf_rnn.inference import load_classifier, predict_proba
from hf_rnn.metrics import classification_metrics, confusion_matrix
from hf_rnn.model_card import CARD_FILES, TEMPLATE_PATH, RNNModelCardData
from hf_rnn.training import DataArguments, ModelArguments, RNNTrainingArguments, train

from .conftest import REPO_ROOT, TESTS_DATA

QUESTIONS_FILE = TESTS_DATA / "hub_questions.label"  # 96 questions, 6 coarse and 12 fine labels, 8 per fine label


def train_tiny_model(output_dir: Path, model_type: str = "gru", **training: object) -> dict:
    """Train a tiny model for 2 epochs on the hub fixture file; return `train`'s metrics."""
    settings = {
        "num_train_epochs": 2,
        "learning_rate": 1e-2,
        "per_device_train_batch_size": 16,
        "seed": 0,
        "report_to": "none",
        "disable_tqdm": True,
        **training,
    }
    return train(
        ModelArguments(model_type=model_type, embedding_dim=16, hidden_size=16),
        DataArguments(train_file=str(QUESTIONS_FILE)),
        RNNTrainingArguments(output_dir=str(output_dir), **settings),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("card") / "tiny-gru"
    metrics = train_tiny_model(output_dir)
    data = load_trec(train_file=QUESTIONS_FILE)  # the same seeded split as the run
    return output_dir, metrics, data


def front_matter(card_text: str) -> dict:
    assert card_text.startswith("---\n")
    return yaml.safe_load(card_text[4 : card_text.index("\n---\n", 4)])


def test_card_files_exist_and_images_are_pngs(run):
    output_dir, _, _ = run
    for name in CARD_FILES:
        assert (output_dir / name).is_file(), name
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert (output_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = imread(output_dir / name).shape
        assert height > 200 and width > 200
    card = (output_dir / "README.md").read_text()
    assert "![Loss and accuracy per epoch](training_curve.png)" in card
    assert "![Confusion matrix on the test split](confusion_matrix.png)" in card


def test_header_parses_and_model_index_equals_measured_metrics(run):
    output_dir, metrics, data = run
    text = (output_dir / "README.md").read_text()
    header = front_matter(text)
    assert header["library_name"] == "transformers"
    assert header["pipeline_tag"] == "text-classification"
    assert {"gru", "custom_code", "hf_rnn"} <= set(header["tags"])
    assert header["datasets"] == ["hub_questions.label"]
    assert header["metrics"] == ["accuracy", "f1"]
    assert header["license"] == "apache-2.0" and header["language"] == "en"
    assert {item["text"] for item in header["widget"]} <= set(data["validation"]["text"])
    assert len(header["widget"]) == 5

    (index,) = header["model-index"]
    assert index["name"] == "tiny-gru"
    reported = {
        (result["dataset"]["split"], metric["type"]): metric["value"]
        for result in index["results"]
        for metric in result["metrics"]
    }
    assert reported == {
        ("validation", "accuracy"): metrics["eval_accuracy"],
        ("validation", "f1"): metrics["eval_macro_f1"],
        ("test", "accuracy"): metrics["test_accuracy"],
        ("test", "f1"): metrics["test_macro_f1"],
    }
    assert all(result["task"]["type"] == "text-classification" for result in index["results"])
    # huggingface_hub reads the same header back
    loaded = ModelCard.load(output_dir / "README.md")
    assert {result.metric_value for result in loaded.data.eval_results} == set(reported.values())


def test_reported_test_numbers_are_those_of_the_saved_model(run):
    """Score the saved model again, outside the Trainer, on the same test split: the card's numbers must hold."""
    output_dir, _, data = run
    model, tokenizer = load_classifier(output_dir)
    references = data["test"]["coarse_label"]
    predictions = predict_proba(model, tokenizer, data["test"]["text"]).argmax(axis=-1)
    card_data = RNNModelCardData.load(output_dir)
    assert classification_metrics(references, predictions, 6) == pytest.approx(
        {key: card_data.results["test"][key] for key in ("accuracy", "macro_f1")}, abs=1e-12
    )
    assert card_data.confusion_matrix == confusion_matrix(references, predictions, 6).tolist()

    card = (output_dir / "README.md").read_text()
    for row in card_data.per_class:
        matrix = np.asarray(card_data.confusion_matrix)
        index = card_data.labels.index(row["label"])
        assert row["support"] == matrix[index].sum()
        recall = matrix[index, index] / matrix[index].sum()
        assert row["recall"] == pytest.approx(recall)
        assert (
            f"| {row['label']} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']} |"
            in card
        )


def test_body_describes_the_run(run):
    output_dir, metrics, data = run
    card = (output_dir / "README.md").read_text()
    config = json.loads((output_dir / "config.json").read_text())
    for name in (
        "vocab_size",
        "embedding_dim",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "pooling",
        "rnn_dropout",
    ):
        assert f"| `{name}` | `{config[name]}` |" in card, name
    for split in ("train", "validation", "test"):
        assert f"| {split} | {len(data[split])} |" in card
    assert 'from_pretrained("tiny-gru", trust_remote_code=True)' in card
    assert "import hf_rnn" in card
    assert "Li, Xin and Roth, Dan" in card and 'year = "2002"' in card
    results = RNNModelCardData.load(output_dir)
    for name in ("transformers", "torch", "huggingface_hub", "hf_rnn"):
        assert f"- {name}: {results.versions[name]}" in card
    assert "## Limitations" in card
    for name in ("README.md", "results.json"):  # public files name the data file, not where it lies
        assert str(QUESTIONS_FILE.parent) not in (output_dir / name).read_text()
    assert f"| validation | {len(data['validation'])} | {metrics['eval_accuracy']:.4f} |" in card


def test_history_records_every_epoch(run):
    output_dir, _, data = run
    history = RNNModelCardData.load(output_dir).history
    state = json.loads((output_dir / "trainer_state.json").read_text())
    evaluations = [entry for entry in state["log_history"] if "eval_accuracy" in entry]
    train_logs = [entry for entry in state["log_history"] if "loss" in entry]
    assert [entry["epoch"] for entry in history] == [1, 2]
    for entry, evaluation, logged in zip(history, evaluations, train_logs):
        assert entry["validation_accuracy"] == evaluation["eval_accuracy"]
        assert entry["validation_loss"] == evaluation["eval_loss"]
        # the running accuracy counts each training question of the epoch once
        correct = entry["train_accuracy"] * len(data["train"])
        assert correct == pytest.approx(round(correct), abs=1e-9)
        # example-weighted running loss vs the Trainer's batch-averaged one: close, not equal (a smaller last batch)
        assert entry["train_loss"] == pytest.approx(logged["loss"], rel=0.02)


def test_card_command_regenerates_the_card(run):
    output_dir, _, _ = run
    before = (output_dir / "README.md").read_text()
    for name in CARD_FILES[:-1]:  # all but results.json, which the card is rendered from
        (output_dir / name).unlink()
    main(["card", "--model_name_or_path", str(output_dir)])
    assert (output_dir / "README.md").read_text() == before
    assert all((output_dir / name).is_file() for name in CARD_FILES)


def test_template_ships_with_the_package():
    assert TEMPLATE_PATH.parent == Path(__import__("hf_rnn").__file__).parent
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert TEMPLATE_PATH.name in pyproject["tool"]["setuptools"]["package-data"]["hf_rnn"]
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert "jinja2" in dependencies and "matplotlib" in dependencies


def test_history_survives_a_resumed_run(tmp_path):
    """A run resumed from its checkpoints keeps the epochs recorded before the interruption."""
    first = train_tiny_model(tmp_path, save_total_limit=None)
    assert first["train_epoch"] == 2
    before = RNNModelCardData.load(tmp_path).history
    train_tiny_model(tmp_path, num_train_epochs=3, save_total_limit=None)  # resumes from checkpoint of epoch 2
    after = RNNModelCardData.load(tmp_path).history
    assert [entry["epoch"] for entry in after] == [1, 2, 3]
    assert after[:2] == before
