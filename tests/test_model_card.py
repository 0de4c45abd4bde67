"""
The generated model card, checked whole against real (tiny) training runs: header, numbers, tables and images, for
TREC (TREC wording), for a CSV of other texts (no TREC wording), for multi-label data, for a Hub dataset and for the
`results.json` of the previous version.
"""

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
import yaml
from huggingface_hub import ModelCard
from matplotlib.image import imread

from hf_rnn import model_card
from hf_rnn.cli import main
from hf_rnn.data import label_names, load_splits
from hf_rnn.data.trec import COARSE_LABELS
from hf_rnn.hub import render_card_files, repo_files
from hf_rnn.inference import load_classifier, predict_proba
from hf_rnn.metrics import classification_metrics, confusion_matrix, multi_hot, per_label_scores
from hf_rnn.model_card import (
    CARD_FILES,
    MULTI_LABEL_CARD_FILES,
    TEMPLATE_PATH,
    CardDataError,
    RecurrentModelCardData,
    dataset_summary,
    plot_training_curve,
    regenerate_model_card,
)
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

from .conftest import REPO_ROOT, TESTS_DATA, label_set_rows

QUESTIONS_FILE = TESTS_DATA / "hub_questions.label"  # 96 questions, 6 coarse and 12 fine labels, 8 per fine label
#: `results.json` and README.md of the previous version (`label_column`): model_cards/trec6-gru as first committed.
OLD_CARD_DIR = TESTS_DATA / "card_v1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def train_tiny_model(
    output_dir: Path, model_type: str = "gru", data_args: DataArguments | None = None, **training: object
) -> dict:
    """Train a tiny model for 2 epochs (default data: the hub fixture file); return `train`'s metrics."""
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
        data_args or DataArguments(train_file=str(QUESTIONS_FILE)),
        RecurrentTrainingArguments(output_dir=str(output_dir), **settings),
    )


def front_matter(card_text: str) -> dict:
    assert card_text.startswith("---\n")
    return yaml.safe_load(card_text[4 : card_text.index("\n---\n", 4)])


def reported_metrics(header: dict) -> dict:
    (index,) = header["model-index"]
    return {
        (result["dataset"]["split"], metric["name"]): metric["value"]
        for result in index["results"]
        for metric in result["metrics"]
    }


# --- TREC: a Li & Roth file -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("card") / "tiny-gru"
    metrics = train_tiny_model(output_dir)
    data = load_splits(train_file=QUESTIONS_FILE)  # the same seeded split as the run
    return output_dir, metrics, data


def test_card_files_exist_and_images_are_pngs(run):
    output_dir, _, _ = run
    for name in CARD_FILES:
        assert (output_dir / name).is_file(), name
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert (output_dir / name).read_bytes()[:8] == PNG_MAGIC
        height, width, _ = imread(output_dir / name).shape
        assert height > 200 and width > 200
    card = (output_dir / "README.md").read_text()
    assert "![Loss and accuracy per epoch](training_curve.png)" in card
    assert "![Confusion matrix on the test split](confusion_matrix.png)" in card
    assert repo_files(output_dir)[-4:] == CARD_FILES
    assert not list(output_dir.glob(".*.tmp"))  # no temporary file of the atomic writes is left


def test_header_parses_and_model_index_equals_measured_metrics(run):
    output_dir, metrics, data = run
    text = (output_dir / "README.md").read_text()
    header = front_matter(text)
    assert header["library_name"] == "transformers"
    assert header["pipeline_tag"] == "text-classification"
    assert header["tags"] == ["hf_rnn", "gru", "recurrent-neural-network", "question-classification", "trec",
                              "custom_code"]  # fmt: skip
    assert "datasets" not in header  # a file name is not a Hub dataset id
    assert header["metrics"] == ["accuracy", "f1"]
    assert header["license"] == "apache-2.0" and header["language"] == "en"
    assert {item["text"] for item in header["widget"]} <= set(data["validation"]["text"])
    assert len(header["widget"]) == 5

    (index,) = header["model-index"]
    assert index["name"] == "tiny-gru"
    assert {result["dataset"]["type"] for result in index["results"]} == {"hub_questions.label"}
    assert {result["task"]["name"] for result in index["results"]} == {"Question classification (coarse, 6 classes)"}
    assert reported_metrics(header) == {
        ("validation", "Validation accuracy"): metrics["eval_accuracy"],
        ("validation", "Validation macro F1"): metrics["eval_macro_f1"],
        ("test", "Test accuracy"): metrics["test_accuracy"],
        ("test", "Test macro F1"): metrics["test_macro_f1"],
    }
    assert all(result["task"]["type"] == "text-classification" for result in index["results"])
    # huggingface_hub reads the same header back
    loaded = ModelCard.load(output_dir / "README.md")
    assert {result.metric_value for result in loaded.data.eval_results} == set(reported_metrics(header).values())


def test_trec_data_gets_the_trec_wording(run):
    output_dir, _, _ = run
    card = (output_dir / "README.md").read_text()
    assert "A GRU question classifier for the **coarse** TREC question classes (6 labels)" in card
    assert "predicts what kind of answer it asks for: ABBR, ENTY, DESC, HUM, LOC, NUM." in card
    assert "[TREC question classification](https://cogcomp.seas.upenn.edu/Data/QA/QC/)" in card
    assert "not the official TREC-10 test set" in card
    assert "The split is stratified by fine label and seeded (seed 42)" in card
    assert "- **Labels:** `coarse_label`, 6 classes" in card
    assert "Li, Xin and Roth, Dan" in card and 'year = "2002"' in card
    assert "The TREC classes are unbalanced" in card
    assert "multi-label" not in card and "Class weights" not in card


def test_reported_test_numbers_are_those_of_the_saved_model(run):
    """Score the saved model again, outside the Trainer, on the same test split: the card's numbers must hold."""
    output_dir, _, data = run
    model, tokenizer = load_classifier(output_dir)
    references = data["test"]["label"]
    predictions = predict_proba(model, tokenizer, data["test"]["text"]).argmax(axis=-1)
    card_data = RecurrentModelCardData.load(output_dir)
    scores = classification_metrics(references, predictions, 6)
    assert {key: scores[key] for key in ("accuracy", "macro_f1", "micro_f1")} == pytest.approx(
        {key: card_data.results["test"][key] for key in ("accuracy", "macro_f1", "micro_f1")}, abs=1e-12
    )
    assert card_data.confusion_matrix == confusion_matrix(references, predictions, 6).tolist()

    card = (output_dir / "README.md").read_text()
    matrix = np.asarray(card_data.confusion_matrix)
    for row in card_data.per_class:
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
    results = RecurrentModelCardData.load(output_dir)
    assert not set(results.hyperparameters) & set(model_card.DATA_CONFIG_FIELDS)  # data fields: their own sections
    assert results.problem_type == "single_label_classification" and results.threshold is None
    assert results.data_columns == {"text": ["text"], "label": "coarse_label", "delimiter": " "}
    for name in ("transformers", "torch", "huggingface_hub", "hf_rnn"):
        assert f"- {name}: {results.versions[name]}" in card
    assert "## Limitations" in card
    for name in ("README.md", "results.json"):  # public files name the data file, not where it lies
        assert str(QUESTIONS_FILE.parent) not in (output_dir / name).read_text()
    assert f"| validation | {len(data['validation'])} | {metrics['eval_accuracy']:.4f} |" in card


def test_history_records_every_epoch(run):
    output_dir, _, data = run
    history = RecurrentModelCardData.load(output_dir).history
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


def test_card_command_regenerates_the_card(run, tmp_path):
    output_dir, _, _ = run
    copy = tmp_path / "tiny-gru"
    shutil.copytree(output_dir, copy)
    before = (copy / "README.md").read_text()
    for name in CARD_FILES[:-1]:  # all but results.json, which the card is rendered from
        (copy / name).unlink()
    main(["card", "--model_name_or_path", str(copy)])
    assert (copy / "README.md").read_text() == before
    assert all((copy / name).is_file() for name in CARD_FILES)


def test_pushed_card_files_name_the_repo_not_the_local_folder(run):
    """`push_model` uploads the card, plots and results.json rendered for the repo id; the local files stay."""
    output_dir, _, _ = run
    before = {name: (output_dir / name).read_bytes() for name in CARD_FILES}
    card_data = RecurrentModelCardData.load(output_dir)
    card_data.model_id = "someone/published-model"
    files = render_card_files(card_data)
    assert set(files) == set(CARD_FILES)
    assert {name: (output_dir / name).read_bytes() for name in CARD_FILES} == before  # nothing local was written
    for name, content in files.items():
        assert b"tiny-gru" not in content, name  # the local folder's name is in no pushed file
    assert json.loads(files["results.json"])["model_id"] == "someone/published-model"
    assert 'from_pretrained("someone/published-model"' in files["README.md"].decode()
    for name in ("training_curve.png", "confusion_matrix.png"):  # the titles changed with the id
        assert files[name][:8] == PNG_MAGIC and files[name] != before[name]
    expected = output_dir / "expected.png"
    try:
        plot_training_curve(card_data, expected)  # the same figure, titled with the repo id
        assert files["training_curve.png"] == expected.read_bytes()
    finally:
        expected.unlink()


def test_usage_snippets_are_valid_python_whatever_the_example_texts(csv_run):
    output_dir, _, _, _ = csv_run
    card_data = RecurrentModelCardData.load(output_dir)
    card_data.widget = ['He said "no" \\ twice', "caf\u00e9\tbar"]
    card = str(card_data.render())
    blocks = [block.split("```")[0] for block in card.split("```python\n")[1:]]
    assert len(blocks) == 2
    for block in blocks:
        ast.parse(block)
    assert 'classifier("He said \\"no\\" \\\\ twice")' in blocks[0]


def test_template_ships_with_the_package():
    assert TEMPLATE_PATH.parent == Path(__import__("hf_rnn").__file__).parent
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert TEMPLATE_PATH.name in pyproject["tool"]["setuptools"]["package-data"]["hf_rnn"]
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert "jinja2" in dependencies and "matplotlib" in dependencies


# --- other data: a CSV of texts with string labels and two text columns --------------------------------------------


def _frame(split, names: list[str]) -> pd.DataFrame:
    """The texts cut into `title` (first word) and `description` (the rest), labels as strings."""
    words = [text.split(" ", 1) for text in split["text"]]
    return pd.DataFrame(
        {
            "title": [parts[0] for parts in words],
            "description": [parts[1] if len(parts) > 1 else "" for parts in words],
            "label": [names[label] for label in split["label"]],
        }
    )


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A GRU trained from `train.csv` (validation cut from it) and scored on `test.csv`, with balanced weights."""
    root = tmp_path_factory.mktemp("csv")
    splits = load_splits(train_file=QUESTIONS_FILE)
    names = label_names(splits)
    _frame(splits["train"], names).to_csv(root / "train.csv", index=False)
    pd.concat([_frame(splits["validation"], names), _frame(splits["test"], names)]).to_csv(
        root / "test.csv", index=False
    )
    data_args = DataArguments(
        train_file=str(root / "train.csv"),
        test_file=str(root / "test.csv"),
        text_column_names="title,description",
        label_column_name="label",
    )
    output_dir = root / "news-gru"
    metrics = train_tiny_model(output_dir, data_args=data_args, class_weights="balanced")
    return output_dir, metrics, data_args, root


def test_csv_card_has_no_trec_wording(csv_run):
    output_dir, _, _, _ = csv_run
    for name in ("README.md", "results.json"):
        text = (output_dir / name).read_text().lower()
        assert "trec" not in text, name
        assert "question" not in text, name
        assert "li & roth" not in text and "cogcomp" not in text, name


def test_csv_card_names_the_files_columns_and_labels(csv_run):
    output_dir, metrics, _, root = csv_run
    card = (output_dir / "README.md").read_text()
    header = front_matter(card)
    assert "datasets" not in header  # file names are not Hub ids
    assert "language" not in header  # not known for other data
    assert "trec" not in header["tags"] and "question-classification" not in header["tags"]
    (index,) = header["model-index"]
    assert {result["dataset"]["type"] for result in index["results"]} == {"train.csv"}
    assert {result["task"]["name"] for result in index["results"]} == {"Text classification (6 classes)"}
    assert reported_metrics(header)[("test", "Test accuracy")] == metrics["test_accuracy"]

    labels = sorted(COARSE_LABELS)  # string labels: their sorted set
    assert "A GRU text classifier for the 6 labels of `train.csv`" in card
    assert f"predicts one of its labels: {', '.join(labels)}." in card
    assert "- **Input:** columns `title`, `description`, joined with ` `" in card
    assert "- **Labels:** `label`, 6 classes" in card
    assert "train and validation split 90%/10% from `train.csv`; test is `test.csv`" in card
    assert "Splits cut from the training data are stratified by label and seeded (seed 42)" in card
    assert "| Split | Texts |" in card
    for name in ("README.md", "results.json"):
        assert str(root) not in (output_dir / name).read_text()  # file names only, never where they lie

    card_data = RecurrentModelCardData.load(output_dir)
    assert card_data.labels == labels
    assert card_data.data_columns == {"text": ["title", "description"], "label": "label", "delimiter": " "}
    assert card_data.dataset["source"] == "files" and card_data.dataset["hub_id"] is None
    assert (card_data.dataset["train_file"], card_data.dataset["test_file"]) == ("train.csv", "test.csv")
    assert card_data.dataset["cut_splits"] == ["validation"]


def test_class_weights_are_on_the_card(csv_run):
    output_dir, _, _, _ = csv_run
    config = json.loads((output_dir / "config.json").read_text())
    card_data = RecurrentModelCardData.load(output_dir)
    assert card_data.class_weights == pytest.approx(config["class_weights"])
    assert card_data.training["class_weights"] == "balanced"
    card = (output_dir / "README.md").read_text()
    assert "inverse label frequency in the train split, `--class_weights balanced`" in card
    for label, weight in zip(card_data.labels, card_data.class_weights):
        assert f"| {label} | {weight:.4f} |" in card


def test_hub_dataset_card_has_a_valid_datasets_entry(csv_run, tmp_path):
    output_dir, _, _, _ = csv_run
    card_data = RecurrentModelCardData.load(output_dir)
    card_data.dataset = dataset_summary(
        DataArguments(dataset_name="fancyzhx/ag_news", text_column_names="title,description")
    )
    model_card.write_model_card(card_data, tmp_path)
    card = (tmp_path / "README.md").read_text()
    header = front_matter(card)
    assert header["datasets"] == ["fancyzhx/ag_news"]
    (index,) = header["model-index"]
    assert {result["dataset"]["type"] for result in index["results"]} == {"fancyzhx/ag_news"}
    loaded = ModelCard.load(tmp_path / "README.md")  # huggingface_hub validates and reads it back
    assert loaded.data.datasets == ["fancyzhx/ag_news"]
    assert {result.dataset_type for result in loaded.data.eval_results} == {"fancyzhx/ag_news"}
    assert "the Hub dataset [`fancyzhx/ag_news`](https://huggingface.co/datasets/fancyzhx/ag_news)" in card
    assert (
        "a validation or test split the dataset lacks is cut from its train split (validation 10%, test 10%)" in card
    )
    assert "trec" not in card.lower() and "question" not in card.lower()


@pytest.mark.parametrize(
    ("options", "description"),
    [
        (
            {"train_file": "/data/a.csv", "validation_file": "/data/v.csv"},
            "train and test split 90%/10% from `a.csv`; validation is `v.csv`",
        ),
        (
            {"train_file": "/data/a.csv", "validation_file": "/data/v.csv", "test_file": "/data/t.csv"},
            "train is `a.csv`, validation is `v.csv`, test is `t.csv`",
        ),
        (
            {"dataset_name": "fancyzhx/ag_news", "test_file": "/data/t.csv"},
            (
                "the splits of `fancyzhx/ag_news`, except: test is `t.csv`; a validation split the dataset lacks is "
                "cut from its train split (validation 10%)"
            ),
        ),
        (
            {"dataset_name": "fancyzhx/ag_news", "train_file": "/data/a.csv"},
            (
                "train is `a.csv`; validation and test from `fancyzhx/ag_news`, or cut from the training data where "
                "it has no such split (validation 10%, test 10%)"
            ),
        ),
    ],
)
def test_dataset_description_says_where_each_split_came_from(csv_run, options, description):
    output_dir, _, _, _ = csv_run
    card_data = RecurrentModelCardData.load(output_dir)
    card_data.dataset = dataset_summary(DataArguments(**options))
    assert card_data.dataset_description() == description
    assert "/data" not in json.dumps(card_data.dataset)
    assert card_data.metadata().datasets == (["fancyzhx/ag_news"] if "train_file" not in options else None)


def test_local_dataset_folder_is_named_by_its_base_name_only(tmp_path):
    folder = tmp_path / "data" / "my_news"
    folder.mkdir(parents=True)
    summary = dataset_summary(DataArguments(dataset_name=str(folder) + "/"))
    assert summary["source"] == "local_dataset" and summary["id"] == "my_news" and summary["hub_id"] is None
    assert str(tmp_path) not in json.dumps(summary)


def test_trec_hub_dataset_gets_the_trec_wording(run, tmp_path):
    output_dir, _, _ = run
    card_data = RecurrentModelCardData.load(output_dir)
    card_data.dataset = dataset_summary(DataArguments(dataset_name="CogComp/trec"))
    model_card.write_model_card(card_data, tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert front_matter(card)["datasets"] == ["CogComp/trec"]
    assert "train and validation split 90%/10% from the train split of `CogComp/trec`; test is its test split" in card
    assert "question classifier for the **coarse** TREC question classes" in card


# --- multi-label ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_label_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    splits = load_splits(train_file=QUESTIONS_FILE)
    files = {}
    for split in ("train", "validation", "test"):
        files[split] = root / f"{split}.jsonl"
        pd.DataFrame(label_set_rows(splits[split])).to_json(files[split], orient="records", lines=True)
    data_args = DataArguments(
        train_file=str(files["train"]), validation_file=str(files["validation"]), test_file=str(files["test"]),
        label_column_name="labels",
    )  # fmt: skip
    output_dir = root / "multi-gru"
    metrics = train_tiny_model(output_dir, data_args=data_args, num_train_epochs=3)
    return output_dir, metrics, data_args


def test_multi_label_card_files(multi_label_run):
    output_dir, _, _ = multi_label_run
    for name in MULTI_LABEL_CARD_FILES:
        assert (output_dir / name).is_file(), name
    assert not (output_dir / "confusion_matrix.png").exists()
    assert (output_dir / "per_label_f1.png").read_bytes()[:8] == PNG_MAGIC
    assert repo_files(output_dir)[-4:] == MULTI_LABEL_CARD_FILES
    assert set(render_card_files(RecurrentModelCardData.load(output_dir))) == set(MULTI_LABEL_CARD_FILES)  # pushed
    card = (output_dir / "README.md").read_text()
    assert "![F1 per label on the test split](per_label_f1.png)" in card
    assert "There is no confusion matrix" in card
    assert "confusion_matrix.png" not in card


def test_multi_label_card_reports_micro_macro_f1_subset_accuracy_and_threshold(multi_label_run):
    output_dir, metrics, _ = multi_label_run
    card_data = RecurrentModelCardData.load(output_dir)
    config = json.loads((output_dir / "config.json").read_text())
    assert card_data.problem_type == "multi_label_classification"
    assert card_data.threshold == config["multi_label_threshold"]
    assert card_data.confusion_matrix is None
    for split, prefix in (("validation", "eval"), ("test", "test")):
        for key in ("micro_f1", "macro_f1", "subset_accuracy", "loss"):
            assert card_data.results[split][key] == metrics[f"{prefix}_{key}"], (split, key)

    card = (output_dir / "README.md").read_text()
    header = front_matter(card)
    assert "multi-label-classification" in header["tags"]
    assert reported_metrics(header) == {
        (split, f"{split.capitalize()} {name}"): metrics[f"{prefix}_{key}"]
        for split, prefix in (("validation", "eval"), ("test", "test"))
        for name, key in (("micro F1", "micro_f1"), ("macro F1", "macro_f1"), ("subset accuracy", "subset_accuracy"))
    }
    assert f"| Decision threshold | {card_data.threshold} |" in card
    assert "| Split | Texts | Micro-F1 | Macro-F1 | Subset accuracy | Loss |" in card
    test = card_data.results["test"]
    assert (
        f"| test | {test['samples']} | {test['micro_f1']:.4f} | {test['macro_f1']:.4f} | "
        f"{test['subset_accuracy']:.4f} | {test['loss']:.4f} |" in card
    )
    assert "multi-label (`multi_label_classification`" in card
    assert "- **Labels:** `labels`, 8 labels" in card
    assert "top_k=None" in card
    assert "Train subset accuracy" in card
    for entry in card_data.history:  # the running subset accuracy counts each training text of the epoch once
        correct = entry["train_accuracy"] * card_data.split_sizes["train"]
        assert correct == pytest.approx(round(correct), abs=1e-9)


def test_multi_label_per_label_scores_are_those_of_the_saved_model(multi_label_run):
    output_dir, _, data_args = multi_label_run
    data = data_args.load_splits()
    model, tokenizer = load_classifier(output_dir)
    card_data = RecurrentModelCardData.load(output_dir)
    probabilities = predict_proba(model, tokenizer, data["test"]["text"])
    predictions = (probabilities >= card_data.threshold).astype(np.int64)
    references = multi_hot(data["test"]["label"], len(card_data.labels))
    scores = per_label_scores(references, predictions)
    card = (output_dir / "README.md").read_text()
    for index, row in enumerate(card_data.per_class):
        assert row["label"] == card_data.labels[index]
        assert row["support"] == references[:, index].sum()
        for key in ("precision", "recall", "f1"):
            assert row[key] == pytest.approx(scores[key][index], abs=1e-6), (row["label"], key)
        assert f"| {row['label']} | {row['precision']:.4f} |" in card


# --- results.json: the previous version's, and broken ones ---------------------------------------------------------


def test_old_results_json_loads_and_renders_with_hf_rnn_card(tmp_path):
    folder = tmp_path / "trec6-gru"
    folder.mkdir()
    shutil.copy(OLD_CARD_DIR / "results.json", folder / "results.json")
    assert "label_column" in json.loads((folder / "results.json").read_text())
    main(["card", "--model_name_or_path", str(folder)])

    card = (folder / "README.md").read_text()
    old = (OLD_CARD_DIR / "README.md").read_text()
    # the same card, less the `datasets` entry that named a file as if it were a Hub dataset
    assert card == old.replace("datasets:\n- train_5500.label\n", "")
    assert all((folder / name).is_file() for name in CARD_FILES)
    upgraded = json.loads((folder / "results.json").read_text())
    assert "label_column" not in upgraded
    assert upgraded["data_columns"]["label"] == "coarse_label"
    assert upgraded["problem_type"] == "single_label_classification"
    assert upgraded["dataset"]["source"] == "files"
    assert RecurrentModelCardData.load(folder).granularity == "coarse"


@pytest.mark.parametrize(
    "content",
    [
        "",  # a full disk
        '{\n  "model_id": "x",\n',
        (OLD_CARD_DIR / "results.json").read_text()[:-300],  # cut short
        "[]",
        '{"model_id": "x"}',
        json.dumps({**json.loads((OLD_CARD_DIR / "results.json").read_text()), "labels": 5}),
    ],
)
def test_a_broken_results_json_is_one_line_naming_the_file(tmp_path, content, capsys):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(CardDataError) as raised:
        RecurrentModelCardData.load(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "results.json") in message and "\n" not in message
    assert ("results.json is empty" if not content else "results.json is ") in message
    with pytest.raises(SystemExit) as exited:
        main(["card", "--model_name_or_path", str(tmp_path)])
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error and str(tmp_path / "results.json") in error


def test_card_files_are_replaced_atomically(run, tmp_path, monkeypatch):
    """A write that fails half-way (a full disk) leaves the previous file whole and no temporary file behind."""
    output_dir, _, _ = run
    folder = tmp_path / "model"
    folder.mkdir()
    for name in CARD_FILES:
        shutil.copy(output_dir / name, folder / name)
    before = {name: (folder / name).read_bytes() for name in CARD_FILES}

    def full_disk(card_data, path):
        Path(path).write_bytes(PNG_MAGIC)  # a part of the image, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_card, "plot_confusion_matrix", full_disk)
    with pytest.raises(OSError, match="No space left"):
        regenerate_model_card(folder)
    assert (folder / "confusion_matrix.png").read_bytes() == before["confusion_matrix.png"]
    assert (folder / "README.md").read_bytes() == before["README.md"]  # written last: not reached
    assert RecurrentModelCardData.load(folder).to_dict() == RecurrentModelCardData.load(output_dir).to_dict()
    assert sorted(path.name for path in folder.iterdir()) == sorted(CARD_FILES)  # no temporary file left


def test_history_survives_a_resumed_run(tmp_path):
    """A run resumed from its checkpoints keeps the epochs recorded before the interruption."""
    first = train_tiny_model(tmp_path, save_total_limit=None)
    assert first["train_epoch"] == 2
    before = RecurrentModelCardData.load(tmp_path).history
    train_tiny_model(tmp_path, num_train_epochs=3, save_total_limit=None)  # resumes from checkpoint of epoch 2
    after = RecurrentModelCardData.load(tmp_path).history
    assert [entry["epoch"] for entry in after] == [1, 2, 3]
    assert after[:2] == before
