"""TREC loading: label files, splits without leakage, label order, clear errors."""

import pytest

from hf_rnn.data import COARSE_LABELS, FINE_LABELS, TrecFormatError, load_trec, read_label_file, stratified_split


def test_reads_the_real_file_as_published(trec_train_file):
    questions = read_label_file(trec_train_file)
    assert len(questions) == 5452
    assert questions[0].coarse_label == "DESC" and questions[0].fine_label == "DESC:manner"
    assert questions[0].text == "How did serfdom develop in and then leave Russia ?"
    assert "sister\u00f0city" in questions[65].text  # line 66: the one Latin-1 byte, 0xF0


def test_eighty_ten_ten_split_is_stratified_seeded_and_leak_free(trec_train_file):
    data = load_trec(train_file=trec_train_file, seed=7)
    sizes = {split: len(data[split]) for split in data}
    assert sum(sizes.values()) == 5452
    assert abs(sizes["train"] / 5452 - 0.8) < 0.01 and abs(sizes["test"] / 5452 - 0.1) < 0.01
    assert data["train"].features["coarse_label"].names == COARSE_LABELS
    assert data["train"].features["fine_label"].names == FINE_LABELS
    texts = {split: {text.lower() for text in data[split]["text"]} for split in data}
    assert not texts["train"] & texts["validation"] and not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    for split in ("validation", "test"):
        for label in range(len(COARSE_LABELS)):
            share = data[split]["coarse_label"].count(label) / sizes[split]
            overall = data["train"]["coarse_label"].count(label) / sizes["train"]
            assert abs(share - overall) < 0.02
    again = load_trec(train_file=trec_train_file, seed=7)
    assert again["test"]["text"] == data["test"]["text"]
    other = load_trec(train_file=trec_train_file, seed=8)
    assert other["test"]["text"] != data["test"]["text"]


def test_with_a_test_file_the_training_file_is_split_ninety_ten(tiny_label_file, trec_train_file):
    data = load_trec(train_file=trec_train_file, test_file=tiny_label_file)
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
    path.write_bytes("LOC:city Where is Zürich ?\n".encode("utf-8"))
    assert read_label_file(path)[0].text == "Where is Zürich ?"


def test_without_a_file_the_hub_is_tried_and_fails_with_one_clear_message():
    with pytest.raises(ConnectionError, match="--train_file"):
        load_trec()
