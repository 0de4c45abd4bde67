"""TREC question classification: the Li & Roth label-file reader, the TREC label lists and the default data file.

The only TREC-specific code of the package: everything else reads any text-classification data through
`hf_rnn.data.load_splits`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets import ClassLabel, Dataset, Features, Value

from .errors import DataError

HUB_DATASET = "CogComp/trec"
#: The two targets of a Li & Roth file: 6 coarse or 50 fine classes.
LABEL_COLUMNS = ("coarse_label", "fine_label")
#: The target learnt from a Li & Roth file unless another is chosen.
DEFAULT_LABEL_COLUMN = "coarse_label"
#: Splits of a Li & Roth file are stratified by fine label (and so by coarse label too).
STRATIFY_COLUMN = "fine_label"

#: Coarse labels in the order of the Hub dataset (label ids agree with `CogComp/trec`).
COARSE_LABELS = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]

#: Fine labels (`COARSE:fine`) in the order of the Hub dataset.
FINE_LABELS = [
    "ABBR:abb", "ABBR:exp", "ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat", "ENTY:currency",
    "ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang", "ENTY:letter", "ENTY:other",
    "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport", "ENTY:substance", "ENTY:symbol",
    "ENTY:techmeth", "ENTY:termeq", "ENTY:veh", "ENTY:word", "DESC:def", "DESC:desc", "DESC:manner",
    "DESC:reason", "HUM:gr", "HUM:ind", "HUM:title", "HUM:desc", "LOC:city", "LOC:country", "LOC:mount",
    "LOC:other", "LOC:state", "NUM:code", "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord",
    "NUM:other", "NUM:period", "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight",
]  # fmt: skip

FEATURES = Features(
    {
        "text": Value("string"),
        "coarse_label": ClassLabel(names=COARSE_LABELS),
        "fine_label": ClassLabel(names=FINE_LABELS),
    }
)


class TrecFormatError(DataError):
    """A TREC label file that cannot be read; the message names the file and, where it applies, the line."""


@dataclass(frozen=True)
class LabeledQuestion:
    """One question of a Li & Roth label file."""

    text: str
    coarse_label: str
    fine_label: str


def decode_text(raw: bytes) -> str:
    """`raw` decoded as label files are: UTF-8 (a byte order mark dropped) when valid, else Latin-1 (never fails)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _decode(raw: bytes, path: str) -> str:
    if b"\x00" in raw:
        raise TrecFormatError(
            f"{path}: contains NUL bytes; the file looks like UTF-16/UTF-32, expected Latin-1 or UTF-8 text."
        )
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 byte order mark (Windows editors) is not part of the first label
    except UnicodeDecodeError as error:
        # UTF-8 text (non-ASCII before the error) whose last character is cut off: the file was cut short.
        if error.reason == "unexpected end of data" and not raw[: error.start].isascii():
            line = raw.count(b"\n") + 1
            message = f"{path}:{line}: the file ends in the middle of a UTF-8 character; it is truncated."
            raise TrecFormatError(message) from None
        # The original TREC files are Latin-1 (one 0xF0 byte in train_5500.label); Latin-1 decodes any byte.
        return raw.decode("latin-1")


_COARSE_NAMES, _FINE_NAMES = set(COARSE_LABELS), set(FINE_LABELS)


def _parse_line(line: str, where: str) -> LabeledQuestion:
    if not line.strip():
        raise TrecFormatError(f"{where}: empty line; expected 'COARSE:fine question'.")
    label, _, question = line.partition(" ")
    coarse, colon, fine = label.partition(":")
    if not colon or not fine:
        raise TrecFormatError(f"{where}: no label; expected 'COARSE:fine question', got {line[:60]!r}.")
    if coarse not in _COARSE_NAMES:
        raise TrecFormatError(f"{where}: unknown coarse label {coarse!r}; known: {', '.join(COARSE_LABELS)}.")
    if label not in _FINE_NAMES:
        raise TrecFormatError(f"{where}: unknown fine label {label!r}.")
    question = question.strip()
    if not question:
        raise TrecFormatError(f"{where}: the question after label {label!r} is empty.")
    return LabeledQuestion(question, coarse, label)


def read_label_file(path: str | os.PathLike) -> list[LabeledQuestion]:
    """
    Read a Li & Roth label file: one `COARSE:fine question tokens` per line.

    The file is decoded as UTF-8 when it is valid UTF-8 and as Latin-1 otherwise (the published TREC files are
    Latin-1). Every line must hold a known label and a non-empty question.

    The published files end every line, the last included, with a newline; one that does not may have been cut short
    (an interrupted copy or download). An error on that last line says so, and a last line that parses is kept with a
    warning naming it, since a question cut at a word boundary cannot be told from a complete one. UTF-8 text cut
    inside a character is an error.

    Args:
        path (`str` or `os.PathLike`): The file to read.

    Returns:
        `list[LabeledQuestion]`: The questions in file order.

    Raises:
        `FileNotFoundError`: The file does not exist.
        `TrecFormatError`: A line is malformed; the message names the file and line number.
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        text = _decode(handle.read(), path)
    if not text.strip():
        raise TrecFormatError(f"{path}: the file is empty.")
    # Windows (CRLF) and old Mac (CR only) line endings end a line as LF does.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()  # the newline that ends the file
    questions = []
    for number, line in enumerate(lines, start=1):
        try:
            questions.append(_parse_line(line, f"{path}:{number}"))
        except TrecFormatError as error:
            if number == len(lines) and not ends_with_newline:
                message = f"{error} No newline follows this last line: the file may be truncated."
                raise TrecFormatError(message) from None
            raise
    if not ends_with_newline:
        warnings.warn(
            f"{path}:{len(lines)}: no newline at the end of the file; if it was cut short, this last question is "
            f"incomplete: {lines[-1][:80]!r}",
            stacklevel=2,
        )
    return questions


def questions_to_dataset(questions: Sequence[LabeledQuestion]) -> Dataset:
    """Build a `Dataset` with columns `text`, `coarse_label`, `fine_label` (ClassLabels in the Hub's order)."""
    return Dataset.from_dict(
        {
            "text": [question.text for question in questions],
            "coarse_label": [COARSE_LABELS.index(question.coarse_label) for question in questions],
            "fine_label": [FINE_LABELS.index(question.fine_label) for question in questions],
        },
        features=FEATURES,
    )


def default_train_file() -> Path:
    """
    The real TREC training file: `$HF_RNN_TREC_TRAIN` when set, else `shared/data/trec/train_5500.label` beside the
    repository of this checkout (`<repository>/../shared/...`). The one place the scripts and tests take it from.
    """
    if os.environ.get("HF_RNN_TREC_TRAIN"):
        return Path(os.environ["HF_RNN_TREC_TRAIN"])
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "trec" / "train_5500.label"


def is_label_file(path: str | os.PathLike) -> bool:
    """Whether `path` names a Li & Roth label file (by its `.label` extension)."""
    return os.fspath(path).lower().endswith(".label")


def load_label_file(path: str | os.PathLike) -> Dataset:
    """A Li & Roth file as a `Dataset` with columns `text`, `coarse_label`, `fine_label` (see `read_label_file`)."""
    return questions_to_dataset(read_label_file(path))


def label_column_for(label_names: Sequence[str]) -> str:
    """
    The column of a Li & Roth file that holds `label_names`: `"coarse_label"` for coarse names, `"fine_label"` for
    `COARSE:fine` names. For models saved without the name of their label column.
    """
    names = set(label_names)
    if names <= _COARSE_NAMES:
        return "coarse_label"
    if names <= _FINE_NAMES:
        return "fine_label"
    raise ValueError(f"the labels {sorted(names)[:8]} are neither TREC coarse nor fine labels.")
