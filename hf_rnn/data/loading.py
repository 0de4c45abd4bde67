"""
Any text-classification data as train, validation and test splits with two columns: `text` and `label`.

Sources: a dataset `datasets.load_dataset` can open (a Hub id or a local dataset folder), or files in CSV, TSV, JSON,
JSON Lines, parquet or the Li & Roth `.label` format. Text columns are joined into `text`; the label column becomes a
`ClassLabel` (or a sequence of them for multi-label data) whose names are the data's own `ClassLabel` names, or the
sorted set of training labels. Missing validation and test splits are cut from the training data by
`stratified_split`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from . import trec
from .errors import DataError
from .splitting import stratified_split

SPLITS = ("train", "validation", "test")
#: Split names of loaded datasets accepted for each of our splits, in order of preference.
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "valid", "dev", "val"), "test": ("test",)}
#: File extension -> (reader name, `Dataset.from_*` keyword arguments).
FILE_FORMATS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
    ".label": ("label", {}),
}
DEFAULT_LABEL_COLUMN = "label"
DEFAULT_TEXT_COLUMN = "text"
#: With `multi_label=True`, a label given as one string lists its labels separated by this.
MULTI_LABEL_SEPARATOR = ","


@dataclass
class RawSplit:
    """One split as read, before its columns are chosen: the rows and where they came from (for error messages)."""

    rows: Dataset
    source: str
    #: How to name row `i` in a message: `"line"` (row i is on line `i + line_offset`) or `"row"` (row `i + 1`).
    position: str = "row"
    line_offset: int = 1

    def where(self, index: int) -> str:
        """The source and the line or row of row `index`."""
        if self.position == "line":
            return f"{self.source}:{index + self.line_offset}"
        return f"{self.source} (row {index + 1})"


def read_data_file(path: str | os.PathLike) -> RawSplit:
    """
    Read one data file by its extension: `.csv`, `.tsv`, `.json`, `.jsonl`, `.parquet` or a Li & Roth `.label` file.

    Raises:
        `DataError`: The file is missing, empty, of an unknown kind or unreadable; the message names it.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in FILE_FORMATS:
        known = ", ".join(FILE_FORMATS)
        raise DataError(f"{path}: unknown data file type {extension or '(no extension)'!r}; expected one of {known}.")
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file.")
    reader, options = FILE_FORMATS[extension]
    if reader == "label":
        return RawSplit(trec.load_label_file(path), path, position="line", line_offset=1)
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: the file is empty.")
    try:
        rows = getattr(Dataset, f"from_{reader}")(path, **options)
    except Exception as error:  # pyarrow and pandas parse errors: one line naming the file
        reason = " ".join(str(error).split())[:300]
        raise DataError(
            f"{path}: cannot be read as {extension[1:].upper()} ({type(error).__name__}: {reason})"
        ) from None
    if len(rows) == 0:
        raise DataError(f"{path}: holds no rows.")
    if extension in (".csv", ".tsv"):
        return RawSplit(rows, path, position="line", line_offset=2)  # line 1 is the header
    if extension == ".jsonl":
        return RawSplit(rows, path, position="line", line_offset=1)
    return RawSplit(rows, path)


def read_dataset(name: str, config_name: str | None = None) -> dict[str, RawSplit]:
    """
    The splits of a dataset: a folder written by `save_to_disk`, or anything `datasets.load_dataset` opens (a local
    dataset folder of data files, or a Hub id), keyed by our split names (`validation` also from `valid`/`dev`).

    Raises:
        `DataError`: The dataset cannot be loaded (e.g. a Hub id while offline) or has no train split.
    """
    import datasets

    try:
        if os.path.isfile(os.path.join(name, "dataset_dict.json")):
            loaded = datasets.load_from_disk(name)
        else:
            loaded = datasets.load_dataset(name, config_name)
    except Exception as error:  # offline, unreachable, refused or malformed: one line, not a retry traceback
        reason = " ".join(str(error).split())[:300]
        hint = "" if os.path.exists(name) else " (not a local folder; a Hub id needs the network)"
        raise DataError(f"dataset {name!r}{hint}: cannot be loaded ({type(error).__name__}: {reason})") from None
    if isinstance(loaded, Dataset):
        loaded = DatasetDict({"train": loaded})
    found = {}
    for split, aliases in SPLIT_ALIASES.items():
        for alias in aliases:
            if alias in loaded:
                found[split] = RawSplit(loaded[alias], f"dataset {name!r} [{alias}]")
                break
    if "train" not in found:
        raise DataError(f"dataset {name!r}: has no train split (its splits: {', '.join(loaded)}).")
    return found


def _choose_text_columns(raw: RawSplit, names: Sequence[str] | None, label_column: str) -> list[str]:
    if names:
        return list(names)
    columns = raw.rows.column_names
    if DEFAULT_TEXT_COLUMN in columns:
        return [DEFAULT_TEXT_COLUMN]
    strings = [
        name
        for name, feature in raw.rows.features.items()
        if name != label_column and isinstance(feature, Value) and feature.dtype in ("string", "large_string")
    ]
    if len(strings) == 1:
        return strings
    raise DataError(
        f"{raw.source}: cannot tell which column holds the text (columns: {', '.join(columns)}); "
        "name it with --text_column_names (several: a,b)."
    )


def _check_columns(raw: RawSplit, columns: Sequence[str]) -> None:
    missing = [name for name in columns if name not in raw.rows.column_names]
    if missing:
        raise DataError(
            f"{raw.source}: no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(raw.rows.column_names)} (choose with --text_column_names / --label_column_name)."
        )


def _class_label(feature: Any) -> tuple[ClassLabel | None, bool]:
    """The `ClassLabel` of a label feature (or of its items, for a sequence) and whether it is a sequence."""
    if isinstance(feature, ClassLabel):
        return feature, False
    inner = getattr(feature, "feature", None)
    if inner is not None:  # Sequence / List of labels
        return (inner if isinstance(inner, ClassLabel) else None), True
    return None, False


def _as_names(raw: RawSplit, column: str, multi_label: bool) -> list[Any]:
    """The label of every row as a name (a list of names for multi-label rows); `ClassLabel` ids become names."""
    feature = raw.rows.features[column]
    class_label, is_sequence = _class_label(feature)
    values = raw.rows[column]
    rows = []
    for index, value in enumerate(values):
        if value is None or (class_label is not None and not is_sequence and value == -1):
            raise DataError(f"{raw.where(index)}: the label ({column!r}) is missing.")
        if is_sequence or isinstance(value, list):
            items = list(value)
        elif multi_label and isinstance(value, str):
            items = [item.strip() for item in value.split(MULTI_LABEL_SEPARATOR) if item.strip()]
        else:
            items = None
        if items is not None:
            if not multi_label:
                raise DataError(f"{raw.where(index)}: a list of labels, but the data is read as single-label.")
            rows.append([class_label.int2str(item) if class_label is not None else item for item in items])
        else:
            rows.append(class_label.int2str(value) if class_label is not None else value)
    return rows


def _sorted_label_names(values: list[Any]) -> list[str]:
    distinct = set(values)
    numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in distinct)
    return [str(value) for value in sorted(distinct, key=(float if numeric else str))]


def _label_features(raw: RawSplit, column: str, multi_label: bool, names_by_row: list[Any]) -> list[str]:
    class_label, _ = _class_label(raw.rows.features[column])
    if class_label is not None:
        return list(class_label.names)
    flat = [item for row in names_by_row for item in row] if multi_label else names_by_row
    return _sorted_label_names(flat)


def _is_multi_label(raw: RawSplit, column: str, forced: bool) -> bool:
    if forced:
        return True
    feature = raw.rows.features[column]
    return getattr(feature, "feature", None) is not None or isinstance(feature, list)


def normalise(
    raw: RawSplit,
    text_columns: list[str] | None,
    delimiter: str,
    label_column: str,
    multi_label: bool,
    label_names: list[str] | None,
    extra_columns: Sequence[str] = (),
) -> tuple[Dataset, list[str]]:
    """
    `raw` as `text` + `label` (+ `extra_columns` kept as they are), and the label names (read from `raw` if `None`).
    `text_columns=None` picks the text column as `load_splits` does.
    """
    _check_columns(raw, [label_column])
    text_columns = _choose_text_columns(raw, text_columns, label_column)
    _check_columns(raw, [*text_columns, *extra_columns])
    by_row = _as_names(raw, label_column, multi_label)
    if label_names is None:
        label_names = _label_features(raw, label_column, multi_label, by_row)
    index = {name: position for position, name in enumerate(label_names)}

    def label_id(name: Any, row: int) -> int:
        key = str(name) if not isinstance(name, str) else name
        if key not in index:
            raise DataError(
                f"{raw.where(row)}: label {key!r} never occurs in the training data "
                f"(its labels: {', '.join(label_names[:20])}{', ...' if len(label_names) > 20 else ''})."
            )
        return index[key]

    labels = [
        sorted({label_id(name, row) for name in value}) if multi_label else label_id(value, row)
        for row, value in enumerate(by_row)
    ]
    columns = [raw.rows[name] for name in text_columns]
    texts = [delimiter.join("" if part is None else str(part) for part in parts) for parts in zip(*columns)]
    label_feature = ClassLabel(names=label_names)
    features = {"text": Value("string"), "label": [label_feature] if multi_label else label_feature}
    data = {"text": texts, "label": labels}
    for name in extra_columns:
        features[name] = raw.rows.features[name]
        data[name] = raw.rows[name]
    return Dataset.from_dict(data, features=Features(features)), label_names


def _check_fractions(validation_fraction: float, test_fraction: float, cut: Sequence[str]) -> None:
    shares = {"validation": ("--validation_fraction", validation_fraction), "test": ("--test_fraction", test_fraction)}
    for split in cut:
        option, value = shares[split]
        if not 0.0 < value < 1.0:
            raise DataError(f"{option} must be between 0 and 1 (exclusive), got {value}.")
    if sum(shares[split][1] for split in cut) >= 1.0:
        raise DataError(
            f"{' + '.join(shares[split][0] for split in cut)} must leave a share for training, got "
            f"{sum(shares[split][1] for split in cut):g}."
        )


def load_splits(
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    train_file: str | os.PathLike | None = None,
    validation_file: str | os.PathLike | None = None,
    test_file: str | os.PathLike | None = None,
    text_column_names: Sequence[str] | None = None,
    text_column_delimiter: str = " ",
    label_column_name: str | None = None,
    multi_label: bool = False,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    split_seed: int = 42,
    columns_used: dict[str, Any] | None = None,
) -> DatasetDict:
    """
    Load text-classification data as a `DatasetDict` with `train`, `validation` and `test` splits of two columns:
    `text` and `label`.

    Splits the data lacks are cut from the training data, stratified by label and seeded, with identical texts kept
    in one split (`stratified_split`): without validation and test, `1 - validation_fraction - test_fraction` /
    `validation_fraction` / `test_fraction`; with one of them, the other's fraction. A Li & Roth file is stratified
    by fine label, whichever label is learnt.

    Args:
        dataset_name (`str`, *optional*): A Hub dataset id or a local dataset folder (instead of files).
        dataset_config_name (`str`, *optional*): Its configuration.
        train_file, validation_file, test_file (`str`, *optional*): Data files (`.csv`, `.tsv`, `.json`, `.jsonl`,
            `.parquet`, `.label`); files given with `dataset_name` replace its splits.
        text_column_names (`Sequence[str]`, *optional*): Columns joined into the text (default: `text`, or the one
            string column; `text` for `.label` files).
        text_column_delimiter (`str`, *optional*, defaults to `" "`): Joins several text columns.
        label_column_name (`str`, *optional*): The label column (default: `label`; `coarse_label` for `.label`).
        multi_label (`bool`, *optional*, defaults to `False`): Read labels as label sets (lists are always read so;
            a string lists its labels separated by commas).
        validation_fraction, test_fraction (`float`, *optional*, defaults to 0.1): Shares cut from the training data.
        split_seed (`int`, *optional*, defaults to 42): Seed of that cut.
        columns_used (`dict`, *optional*): Filled with the columns read: `text_column_names` and `label_column_name`.

    Returns:
        `DatasetDict`: `text` (`string`) and `label` (`ClassLabel`, or a list of `ClassLabel` for multi-label data).

    Raises:
        `DataError`: One line naming the file or dataset, and the line or column, at fault.
    """
    if dataset_name is None and train_file is None:
        raise DataError("no training data: give --train_file FILE or --dataset_name NAME.")
    raw = read_dataset(dataset_name, dataset_config_name) if dataset_name is not None else {}
    for split, path in (("train", train_file), ("validation", validation_file), ("test", test_file)):
        if path is not None:
            raw[split] = read_data_file(path)
    train = raw["train"]
    trec_train = train_file is not None and trec.is_label_file(train_file)
    label_column = label_column_name or (trec.DEFAULT_LABEL_COLUMN if trec_train else DEFAULT_LABEL_COLUMN)
    _check_columns(train, [label_column])
    text_columns = _choose_text_columns(train, text_column_names, label_column)
    if columns_used is not None:
        columns_used.update(text_column_names=text_columns, label_column_name=label_column)
    multi = _is_multi_label(train, label_column, multi_label)
    if multi and any(
        path is not None and trec.is_label_file(path) for path in (train_file, validation_file, test_file)
    ):
        raise DataError(f"{train.source}: Li & Roth label files hold one label per question; drop --multi_label.")

    stratify_column = trec.STRATIFY_COLUMN if trec_train else None
    normalised: dict[str, Dataset] = {}
    label_names = None
    for split in ("train", "validation", "test"):
        if split in raw:
            extra = [stratify_column] if split == "train" and stratify_column else []
            normalised[split], label_names = normalise(
                raw[split], text_columns, text_column_delimiter, label_column, multi, label_names, extra
            )
    seen = {label for row in normalised["train"]["label"] for label in (row if multi else [row])}
    for split in ("validation", "test"):  # a label never trained on would be scored as wrong, silently
        for row, value in enumerate(normalised[split]["label"] if split in normalised else []):
            unseen = sorted(set(value if multi else [value]) - seen)
            if unseen:
                raise DataError(
                    f"{raw[split].where(row)}: label {label_names[unseen[0]]!r} never occurs in the training data "
                    f"({train.source}); a model cannot learn it there."
                )

    missing = [split for split in ("validation", "test") if split not in normalised]
    if missing:
        _check_fractions(validation_fraction, test_fraction, missing)
        pool = normalised["train"]
        shares = {"validation": validation_fraction, "test": test_fraction}
        fractions = [1.0 - sum(shares[split] for split in missing), *(shares[split] for split in missing)]
        keys = (
            pool[stratify_column] if stratify_column else [tuple(value) if multi else value for value in pool["label"]]
        )
        parts = stratified_split(pool["text"], keys, fractions, split_seed)
        for split, indices in zip(["train", *missing], parts):
            if not indices:
                raise DataError(
                    f"{train.source}: {len(pool)} rows are too few to cut a {split} split "
                    f"({' / '.join(f'{fraction:.0%}' for fraction in fractions)} of train / {' / '.join(missing)}); "
                    "give more data, larger fractions, or --validation_file/--test_file."
                )
            normalised[split] = pool.select(indices)
    return DatasetDict(
        {
            split: normalised[split].remove_columns(
                [name for name in normalised[split].column_names if name not in ("text", "label")]
            )
            for split in SPLITS
        }
    )


def label_names(dataset: Dataset | DatasetDict) -> list[str]:
    """The label names of a split (or of the train split of a `DatasetDict`) returned by `load_splits`."""
    if isinstance(dataset, DatasetDict):
        dataset = dataset["train"]
    class_label, _ = _class_label(dataset.features["label"])
    return list(class_label.names)


def is_multi_label(dataset: Dataset | DatasetDict) -> bool:
    """Whether a split (or the train split of a `DatasetDict`) from `load_splits` holds label sets."""
    if isinstance(dataset, DatasetDict):
        dataset = dataset["train"]
    return _class_label(dataset.features["label"])[1]
