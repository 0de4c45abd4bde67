"""Reliability of data files: every bad label file gets one clear error naming the file and line, and nothing else."""

import pytest

from hf_rnn.data.trec import TrecFormatError, read_label_file
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

GOOD = b"NUM:date When was the telephone invented ?\n"

BAD_FILES = {
    "missing label": (GOOD + b"Who invented the telephone ?\n", 2, "no label"),
    "label without fine part": (GOOD + b"HUM Who invented the telephone ?\n", 2, "no label"),
    "unknown coarse label": (GOOD + b"PERSON:ind Who invented the telephone ?\n", 2, "unknown coarse label 'PERSON'"),
    "unknown fine label": (GOOD + b"HUM:inventor Who invented it ?\n", 2, "unknown fine label 'HUM:inventor'"),
    "empty line": (GOOD + b"\n" + GOOD, 2, "empty line"),
    "whitespace-only line": (GOOD + b" \t \r\n" + GOOD, 2, "empty line"),
    "label without question": (GOOD + b"HUM:ind   \n", 2, "question after label 'HUM:ind' is empty"),
    "truncated inside the label": (GOOD + b"HUM:in", 2, "may be truncated"),
    "truncated after the label": (GOOD + b"HUM:ind", 2, "may be truncated"),
    "truncated inside a UTF-8 character": (
        GOOD + "LOC:city Where is Zürich ?\nLOC:city Where is Zü".encode()[:-1], 3, "middle of a UTF-8 character"
    ),
}  # fmt: skip


@pytest.mark.parametrize("content, line, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_line_gets_one_clear_error_naming_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "questions.label"
    path.write_bytes(content)
    with pytest.raises(TrecFormatError) as error:
        read_label_file(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wrong_encoding_is_named(tmp_path, encoding):
    path = tmp_path / "questions.label"
    path.write_bytes("NUM:date When was the telephone invented ?\n".encode(encoding))
    with pytest.raises(TrecFormatError, match="UTF-16") as error:
        read_label_file(path)
    assert str(error.value).startswith(f"{path}: ")


def test_question_cut_at_a_word_boundary_is_kept_with_a_warning_naming_the_line(tmp_path):
    path = tmp_path / "questions.label"
    path.write_bytes(GOOD + b"HUM:ind Who invented the")
    with pytest.warns(UserWarning, match=f"{path}:2: no newline at the end of the file"):
        questions = read_label_file(path)
    assert [question.text for question in questions][-1] == "Who invented the"


def test_byte_order_mark_windows_line_ends_and_latin1_are_read(tmp_path):
    path = tmp_path / "questions.label"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n") + "LOC:city Where is Zürich ?\r\n".encode())
    questions = read_label_file(path)
    assert [question.fine_label for question in questions] == ["NUM:date", "LOC:city"]
    assert questions[1].text == "Where is Zürich ?"
    # A Latin-1 file whose last byte is not ASCII is not mistaken for UTF-8 cut inside a character.
    path.write_bytes(GOOD + b"ENTY:food What is a caf\xe9")
    with pytest.warns(UserWarning, match="no newline"):
        assert read_label_file(path)[-1].text == "What is a caf\u00e9"


@pytest.mark.parametrize("bad_split", ["train_file", "test_file"])
def test_training_on_a_bad_file_fails_before_writing_anything(tmp_path, bad_split):
    good, bad = tmp_path / "good.label", tmp_path / "bad.label"
    good.write_bytes(GOOD * 30)
    bad.write_bytes(GOOD * 5 + b"HUM:inventor Who invented the telephone ?\n")
    files = {"train_file": str(good), "test_file": str(good), bad_split: str(bad)}
    output_dir = tmp_path / "model"
    with pytest.raises(TrecFormatError, match=f"{bad}:6: unknown fine label"):
        train(ModelArguments(), DataArguments(**files), RecurrentTrainingArguments(output_dir=str(output_dir)))
    assert not output_dir.exists()
