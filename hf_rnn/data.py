"""TREC question classification data: Li & Roth label files or the Hub dataset `CogComp/trec`, split without leakage."""

from __future__ import annotations

import os
import random
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

HUB_DATASET = "CogComp/trec"
LABEL_COLUMNS = ("coarse_label", "fine_label")

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


class TrecFormatError(ValueError):
    """A TREC label file that cannot be read; the message names the file and, where it applies, the line."""


@dataclass(frozen=True)
class LabeledQuestion:
    """One question of a Li & Roth label file."""

    text: str
    coarse_label: str
    fine_label: str


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
    lines = text.split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()  # the newline that ends the file
    questions = []
    for number, line in enumerate(lines, start=1):
        try:
            questions.append(_parse_line(line.rstrip("\r"), f"{path}:{number}"))
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


def stratified_split(
    texts: Sequence[str], labels: Sequence[int], fractions: Sequence[float], seed: int
) -> list[list[int]]:
    """
    Split row indices into `len(fractions)` parts, stratified by label, keeping identical texts in the same part.

    Identical questions (the training file repeats about 70) are grouped so that no question can be both trained on
    and evaluated. Within each label the groups are shuffled with `seed` and cut at the cumulative fractions.

    Returns:
        `list[list[int]]`: One sorted list of row indices per fraction.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {list(fractions)}.")
    groups: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        groups[" ".join(text.lower().split())].append(index)
    groups_by_label: dict[int, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        groups_by_label[labels[members[0]]].append(members)
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for label in sorted(groups_by_label):
        label_groups = groups_by_label[label]
        rng.shuffle(label_groups)
        total = len(label_groups)
        bounds, cumulative = [], 0.0
        for fraction in fractions:
            cumulative += fraction
            bounds.append(round(cumulative * total))
        start = 0
        for part, end in zip(parts, bounds):
            for members in label_groups[start:end]:
                part.extend(members)
            start = end
    return [sorted(part) for part in parts]


def load_trec(
    train_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    dataset_name: str = HUB_DATASET,
) -> DatasetDict:
    """
    Load TREC question classification as a `DatasetDict` with `train`, `validation` and `test` splits.

    With `train_file` alone, the file is split (stratified by fine label, so also by coarse label, and seeded)
    80/10/10 into train, validation and test. With `test_file` as well, the training file is split 90/10 into train
    and validation and the test file is the test split. With neither, the Hub dataset `dataset_name` is loaded and its
    train split divided 90/10 into train and validation.

    Args:
        train_file (`str`, *optional*): A Li & Roth label file, e.g. `train_5500.label`.
        test_file (`str`, *optional*): A held-out label file of the same format, e.g. `TREC_10.label`.
        validation_fraction (`float`, *optional*, defaults to 0.1): Share of the training file kept for validation.
        test_fraction (`float`, *optional*, defaults to 0.1): Share kept for test when there is no `test_file`.
        seed (`int`, *optional*, defaults to 42): Seed of the split.
        dataset_name (`str`, *optional*, defaults to `"CogComp/trec"`): The Hub dataset used without files.

    Returns:
        `DatasetDict`: Columns `text`, `coarse_label` and `fine_label` (`ClassLabel`s in the Hub's name order).
    """
    if train_file is None:
        if test_file is not None:
            raise ValueError("`test_file` needs `train_file` as well.")
        source = _load_hub(dataset_name)
        train_pool, test = source["train"], source["test"]
        fractions = [1.0 - validation_fraction, validation_fraction]
    else:
        train_pool = questions_to_dataset(read_label_file(train_file))
        test = questions_to_dataset(read_label_file(test_file)) if test_file is not None else None
        fractions = (
            [1.0 - validation_fraction, validation_fraction]
            if test is not None
            else [1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction]
        )
    parts = stratified_split(train_pool["text"], train_pool["fine_label"], fractions, seed)
    splits = {"train": train_pool.select(parts[0]), "validation": train_pool.select(parts[1])}
    splits["test"] = test if test is not None else train_pool.select(parts[2])
    return DatasetDict(splits)


def _load_hub(dataset_name: str) -> DatasetDict:
    import datasets

    try:
        loaded = datasets.load_dataset(dataset_name)
    except Exception as error:  # offline, unreachable or refused: one clear message, not a retry traceback
        raise ConnectionError(
            f"Could not load the Hub dataset {dataset_name!r} ({type(error).__name__}: {str(error)[:200]}). "
            "Pass a local Li & Roth label file instead: --train_file path/to/train_5500.label"
        ) from None
    return DatasetDict(
        {split: loaded[split].cast(FEATURES) for split in ("train", "test")}
    )
