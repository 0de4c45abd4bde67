"""The Li & Roth reader and the TREC splits: label files, splits without leakage, label order, clear errors."""

import pytest

from hf_rnn.data import DataError, load_splits, stratified_split
from hf_rnn.data.trec import (
    COARSE_LABELS,
    FINE_LABELS,
    TrecFormatError,
    decode_text,
    load_label_file,
    read_label_file,
)


def test_reads_the_real_file_as_published(trec_train_file):
    questions = read_label_file(trec_train_file)
    assert len(questions) == 5452
    assert questions[0].coarse_label == "DESC" and questions[0].fine_label == "DESC:manner"
    assert questions[0].text == "How did serfdom develop in and then leave Russia ?"
    assert "sister\u00f0city" in questions[65].text  # line 66: the one Latin-1 byte, 0xF0


def test_eighty_ten_ten_split_is_stratified_seeded_and_leak_free(trec_train_file):
    data = load_splits(train_file=trec_train_file, split_seed=7)
    sizes = {split: len(data[split]) for split in data}
    assert sum(sizes.values()) == 5452
    assert abs(sizes["train"] / 5452 - 0.8) < 0.01 and abs(sizes["test"] / 5452 - 0.1) < 0.01
    assert data["train"].column_names == ["text", "label"]
    assert data["train"].features["label"].names == COARSE_LABELS
    fine = load_splits(train_file=trec_train_file, split_seed=7, label_column_name="fine_label")
    assert fine["train"].features["label"].names == FINE_LABELS
    assert fine["test"]["text"] == data["test"]["text"]  # split by fine label whichever label is learnt
    texts = {split: {text.lower() for text in data[split]["text"]} for split in data}
    assert not texts["train"] & texts["validation"] and not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    for split in ("validation", "test"):
        for label in range(len(COARSE_LABELS)):
            share = data[split]["label"].count(label) / sizes[split]
            overall = data["train"]["label"].count(label) / sizes["train"]
            assert abs(share - overall) < 0.02
    again = load_splits(train_file=trec_train_file, split_seed=7)
    assert again["test"]["text"] == data["test"]["text"]
    other = load_splits(train_file=trec_train_file, split_seed=8)
    assert other["test"]["text"] != data["test"]["text"]


def test_with_a_test_file_the_training_file_is_split_ninety_ten(tiny_label_file, trec_train_file):
    data = load_splits(train_file=trec_train_file, test_file=tiny_label_file)
    assert len(data["test"]) == 60
    assert abs(len(data["validation"]) / 5452 - 0.1) < 0.01
    assert len(data["train"]) + len(data["validation"]) == 5452


def test_split_keeps_duplicate_texts_together():
    texts = ["a ?", "b ?", "A  ?", "c ?", "d ?", "e ?", "f ?", "g ?", "h ?", "i ?"]
    labels = [0] * 10
    parts = stratified_split(texts, labels, [0.5, 0.5], seed=3)
    together = [part for part in parts if 0 in part]
    assert 2 in together[0]
    assert sorted(parts[0] + parts[1]) == list(range(10))


@pytest.mark.parametrize(
    "content, line, message",
    [
        ("NUM:date When ?\nno label here\n", 2, "no label"),
        ("NUM:date When ?\nFOO:bar What ?\n", 2, "unknown coarse label 'FOO'"),
        ("NUM:nope When ?\n", 1, "unknown fine label 'NUM:nope'"),
        ("NUM:date When ?\nHUM:ind \n", 2, "question after label 'HUM:ind' is empty"),
        ("NUM:date When ?\n\nHUM:ind Who ?\n", 2, "empty line"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "bad.label"
    path.write_text(content)
    with pytest.raises(TrecFormatError) as error:
        read_label_file(path)
    assert f"{path}:{line}:" in str(error.value)
    assert message in str(error.value)


def test_utf8_files_keep_their_characters(tmp_path):
    path = tmp_path / "utf8.label"
    path.write_bytes("LOC:city Where is Zürich ?\n".encode())
    assert read_label_file(path)[0].text == "Where is Zürich ?"


def test_without_data_one_clear_message():
    with pytest.raises(DataError, match="--train_file FILE or --dataset_name NAME"):
        load_splits()


def test_a_hub_id_offline_fails_with_one_clear_message():
    with pytest.raises(DataError, match="'CogComp/trec' .*needs the network"):
        load_splits(dataset_name="CogComp/trec")


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_windows_and_old_mac_line_endings_are_lines(tmp_path, trec_train_file, ending):
    lines = trec_train_file.read_bytes().split(b"\n")[:50]
    path = tmp_path / "endings.label"
    path.write_bytes(ending.encode().join(lines) + ending.encode())
    assert [row.text for row in read_label_file(path)] == [row.text for row in read_label_file(trec_train_file)[:50]]


def test_the_split_of_the_reference_file_is_unchanged(trec_train_file):
    """The redesign kept the 80/10/10 split of seed 42: pinned by the first test questions and the split sizes."""
    data = load_splits(train_file=trec_train_file)
    assert [len(data[split]) for split in ("train", "validation", "test")] == [4366, 539, 547]
    assert data["test"]["text"][:3] == [
        "What is the oldest profession ?",
        "When was Ozzy Osbourne born ?",
        "Who killed Gandhi ?",
    ]
    assert load_label_file(trec_train_file)["text"] == [row.text for row in read_label_file(trec_train_file)]


def test_decode_text_reads_utf8_without_its_byte_order_mark_else_latin1():
    assert decode_text("\ufeffcafé ?".encode()) == "café ?"
    assert decode_text("café ?".encode("latin-1")) == "café ?"  # 0xE9 alone is not UTF-8
    assert decode_text("naïve ∑".encode()) == "naïve ∑"
