"""Your own data: every file format, a dataset folder, column choice, label rules, clear errors, multi-label, weights.

The files are built inside the tests from the real TREC training file, so the same questions and labels arrive
through every reader.
"""

import json

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, DatasetDict

from hf_rnn.data import DataError, is_multi_label, label_names, load_splits
from hf_rnn.data.trec import COARSE_LABELS
from hf_rnn.inference import evaluate_file, load_classifier, predict
from hf_rnn.training import class_weights_for, train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

from .conftest import label_set_rows

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
ROWS = {"train": 900, "validation": 150, "test": 150}


def _frame(split) -> pd.DataFrame:
    """A news-like table: the question cut into `title` (first word) and `description` (the rest), string labels."""
    words = [text.split(" ", 1) for text in split["text"]]
    return pd.DataFrame(
        {
            "title": [parts[0] for parts in words],
            "description": [parts[1] if len(parts) > 1 else "" for parts in words],
            "label": [COARSE_LABELS[label] for label in split["label"]],
        }
    )


def _write(frame: pd.DataFrame, path) -> None:
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    else:
        frame.to_parquet(path, index=False)


@pytest.fixture(scope="module")
def trec_splits(trec_train_file):
    data = load_splits(train_file=trec_train_file)
    return {split: data[split].select(range(rows)) for split, rows in ROWS.items()}


@pytest.fixture(scope="module")
def data_files(trec_splits, tmp_path_factory):
    """`{format: {split: path}}` holding the same rows in every format."""
    root = tmp_path_factory.mktemp("formats")
    files = {}
    for kind in FORMATS:
        files[kind] = {}
        for split, rows in trec_splits.items():
            path = root / f"{split}.{kind}"
            _write(_frame(rows), path)
            files[kind][split] = str(path)
    return files


def _data_args(files: dict[str, str], **options) -> DataArguments:
    return DataArguments(
        train_file=files["train"],
        validation_file=files["validation"],
        test_file=files["test"],
        text_column_names="title,description",
        **options,
    )


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_reads_the_same_rows(kind, data_files, trec_splits):
    data = _data_args(data_files[kind]).load_splits()
    assert label_names(data) == sorted(COARSE_LABELS)  # string labels: their sorted set
    for split, rows in trec_splits.items():
        assert data[split]["text"] == rows["text"]  # title + " " + description is the question again
        assert [label_names(data)[label] for label in data[split]["label"]] == [
            COARSE_LABELS[label] for label in rows["label"]
        ]


def test_a_local_dataset_folder_with_class_labels(trec_splits, tmp_path):
    folder = tmp_path / "trec_folder"
    DatasetDict(
        {
            split: Dataset.from_dict({"question": rows["text"], "label": rows["label"]}).cast_column(
                "label", ClassLabel(names=COARSE_LABELS)
            )
            for split, rows in trec_splits.items()
        }
    ).save_to_disk(folder)
    data = load_splits(dataset_name=str(folder))
    assert label_names(data) == COARSE_LABELS  # ClassLabel names and order are kept
    assert data["test"]["text"] == trec_splits["test"]["text"]  # the one string column is the text
    assert data["test"]["label"] == trec_splits["test"]["label"]


def test_a_folder_of_data_files_is_a_dataset(data_files, tmp_path):
    folder = tmp_path / "csv_dataset"
    folder.mkdir()
    for split, path in data_files["csv"].items():
        (folder / f"{split}.csv").write_bytes(open(path, "rb").read())
    data = load_splits(dataset_name=str(folder), text_column_names=["title", "description"])
    assert [len(data[split]) for split in ("train", "validation", "test")] == list(ROWS.values())


def test_missing_splits_are_cut_stratified_and_integer_labels_sorted_numerically(tmp_path):
    rows = [{"text": f"text number {index}", "label": [10, 2, 7][index % 3]} for index in range(60)]
    path = tmp_path / "ints.jsonl"
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    data = load_splits(train_file=str(path), validation_fraction=0.2, test_fraction=0.2)
    assert label_names(data) == ["2", "7", "10"]
    assert [len(data[split]) for split in ("train", "validation", "test")] == [36, 12, 12]
    for split in ("validation", "test"):
        assert sorted(np.bincount(data[split]["label"]).tolist()) == [4, 4, 4]


def test_a_missing_column_names_the_file_and_its_columns(data_files):
    with pytest.raises(DataError) as error:
        _data_args(data_files["csv"], label_column_name="category").load_splits()
    message = str(error.value)
    assert data_files["csv"]["train"] in message and "'category'" in message and "title, description, label" in message
    assert "\n" not in message


def test_an_ambiguous_text_column_asks_for_text_column_names(data_files):
    with pytest.raises(DataError, match="--text_column_names"):
        load_splits(train_file=data_files["csv"]["train"])


def test_a_test_label_never_seen_in_training_is_named(tmp_path):
    train_path, test_path = tmp_path / "train.csv", tmp_path / "test.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f", "g h"] * 5, "label": ["x", "y"] * 10}).to_csv(train_path, index=False)
    pd.DataFrame({"text": ["a b", "z z"], "label": ["x", "surprise"]}).to_csv(test_path, index=False)
    with pytest.raises(DataError) as error:
        load_splits(train_file=str(train_path), test_file=str(test_path), validation_fraction=0.2)
    assert f"{test_path}:3" in str(error.value) and "'surprise'" in str(error.value)  # header is line 1


def test_a_missing_label_names_file_and_line(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("text,label\nfirst,a\nsecond,\nthird,b\n")
    with pytest.raises(DataError, match=f"{path}:3: the label"):
        load_splits(train_file=str(path))


def test_too_little_data_is_refused_before_training(tmp_path):
    path = tmp_path / "ten.csv"
    pd.DataFrame({"text": [f"question {index}" for index in range(10)], "label": ["a", "b"] * 5}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="too few to cut a validation split"):
        load_splits(train_file=str(path))


@pytest.mark.parametrize("name", ["data.txt", "data"])
def test_an_unknown_file_type_is_named(tmp_path, name):
    with pytest.raises(DataError, match="unknown data file type"):
        load_splits(train_file=str(tmp_path / name))


def test_an_unreadable_csv_is_one_line_naming_it(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=f"{path}: cannot be read as PARQUET"):
        load_splits(train_file=str(path))


@pytest.fixture(scope="module")
def multi_label_files(trec_splits, tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    files = {}
    for split, rows in trec_splits.items():
        path = root / f"{split}.jsonl"
        pd.DataFrame(label_set_rows(rows)).to_json(path, orient="records", lines=True)
        files[split] = str(path)
    return files


def test_list_labels_are_multi_label(multi_label_files):
    data = DataArguments(
        train_file=multi_label_files["train"], validation_file=multi_label_files["validation"],
        test_file=multi_label_files["test"], label_column_name="labels",
    ).load_splits()  # fmt: skip
    assert is_multi_label(data)
    assert label_names(data) == sorted([*COARSE_LABELS, "name", "number"])
    assert all(isinstance(row, list) and row for row in data["train"]["label"])


def small_training(output_dir, **options) -> RecurrentTrainingArguments:
    defaults = dict(num_train_epochs=3, per_device_train_batch_size=32, report_to="none", disable_tqdm=True, seed=3)
    return RecurrentTrainingArguments(output_dir=str(output_dir), **{**defaults, **options})


SMALL_MODEL = dict(model_type="gru", embedding_dim=32, hidden_size=32)


def test_multi_label_end_to_end(multi_label_files, tmp_path):
    data_args = DataArguments(
        train_file=multi_label_files["train"], validation_file=multi_label_files["validation"],
        test_file=multi_label_files["test"], label_column_name="labels",
    )  # fmt: skip
    training_args = small_training(tmp_path / "multi", tune_threshold=True, num_train_epochs=15, learning_rate=5e-3)
    metrics = train(ModelArguments(**SMALL_MODEL), data_args, training_args)
    for key in ("eval_micro_f1", "eval_macro_f1", "eval_subset_accuracy", "test_micro_f1", "test_subset_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["test_micro_f1"] > 0.6, metrics  # well above chance for 8 labels
    model, tokenizer = load_classifier(tmp_path / "multi")
    assert model.config.problem_type == "multi_label_classification"
    threshold = model.config.multi_label_threshold
    assert 0.0 < threshold < 1.0
    state = json.loads((tmp_path / "multi" / "trainer_state.json").read_text())
    assert state["best_metric"] is not None and "micro_f1" in json.dumps(state["log_history"][-3:])

    answers = predict(model, tokenizer, ["How many people live in Tokyo in 2020 ?", "What is a cat ?"])
    assert all(isinstance(answer, list) for answer in answers)
    assert all(item["score"] >= threshold for answer in answers for item in answer)
    scores = evaluate_file(model, tokenizer, multi_label_files["test"])
    assert scores["micro_f1"] == pytest.approx(metrics["test_micro_f1"], abs=1e-9)
    assert scores["subset_accuracy"] == pytest.approx(metrics["test_subset_accuracy"], abs=1e-9)


def test_balanced_class_weights_are_inverse_frequency_and_stored(trec_splits, data_files, tmp_path):
    data = _data_args(data_files["csv"]).load_splits()
    weights = class_weights_for("balanced", data)
    counts = np.bincount(data["train"]["label"], minlength=6)
    assert weights == pytest.approx((len(data["train"]) / (6 * counts)).tolist())
    assert weights[label_names(data).index("ABBR")] == max(weights)  # the rarest class weighs most

    file = tmp_path / "weights.json"
    file.write_text(json.dumps({name: 1.0 + index for index, name in enumerate(label_names(data))}))
    assert class_weights_for(str(file), data) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    file.write_text(json.dumps({"ABBR": 2.0}))
    with pytest.raises(ValueError, match="labels missing"):
        class_weights_for(str(file), data)

    train(
        ModelArguments(**SMALL_MODEL),
        _data_args(data_files["csv"]),
        small_training(tmp_path / "weighted", class_weights="balanced", num_train_epochs=1),
    )
    model, _ = load_classifier(tmp_path / "weighted")
    assert model.config.class_weights == pytest.approx(weights)
