"""
What makes a run the same run: a fingerprint of its data and model options, kept in the output folder, so that a
folder holding checkpoints is resumed only by the run that wrote them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict
from typing import Any

from datasets import DatasetDict

from .training_args import ArgumentError, DataArguments, ModelArguments, RecurrentTrainingArguments

logger = logging.getLogger(__name__)

FINGERPRINT_FILENAME = "run_fingerprint.json"
#: Options that may change between a run and its resumption (where the data and the output go, the schedule).
_RESUMABLE_CHANGES = {"train_file", "validation_file", "test_file", "dataset_name"}


def check_output_dir(output_dir: str) -> None:
    """
    Check that files can be written to `output_dir`, before anything is trained: in it if it exists, else in the
    nearest folder above it that exists (where it will be created). Nothing is left behind.
    """
    existing = os.path.abspath(output_dir)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ArgumentError(f"--output_dir {output_dir}: {existing} is not a folder.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ArgumentError(f"--output_dir {output_dir}: cannot write there ({error.strerror or error}).") from None


def data_fingerprint(data: DatasetDict) -> str:
    """A hash of every split's texts and labels (the same data under another file name hashes the same)."""
    digest = hashlib.sha256()
    for split in sorted(data):
        digest.update(split.encode())
        digest.update(json.dumps(data[split].features.to_dict(), sort_keys=True).encode())
        for text, label in zip(data[split]["text"], data[split]["label"]):
            digest.update(json.dumps([text, label]).encode())
    return digest.hexdigest()


def run_fingerprint(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args: RecurrentTrainingArguments,
    data: DatasetDict,
) -> dict[str, Any]:
    """What must agree for a run to resume another: the data, every model and tokenizer option, the data options
    (file locations aside) and the distillation teacher."""
    data_options = {key: value for key, value in asdict(data_args).items() if key not in _RESUMABLE_CHANGES}
    return {
        "data": data_fingerprint(data),
        "model": asdict(model_args),
        "data_options": data_options,
        "teacher": training_args.teacher,
        "teacher_soft_labels": training_args.teacher_soft_labels,
        "distillation_augment_copies": training_args.distillation_augment_copies,
        "distillation_replace_probability": training_args.distillation_replace_probability,
    }


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    changed = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += [f"{key}.{name}" for name in _differences(old, new)]
        elif old != new:
            changed.append(key)
    return changed


def check_same_run(output_dir: str, fingerprint: dict[str, Any]) -> None:
    """
    Raise `ArgumentError` if the checkpoints in `output_dir` belong to a run with other data or options (a folder
    from before fingerprints were kept is resumed, with a warning).
    """
    path = os.path.join(output_dir, FINGERPRINT_FILENAME)
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except FileNotFoundError:
        logger.warning("%s holds checkpoints but no %s: resuming without checking the run.", output_dir, path)
        return
    except ValueError:
        saved = {}
    changed = _differences(saved, json.loads(json.dumps(fingerprint)))
    if changed:
        shown = ", ".join(name.replace("data_options.", "").replace("model.", "") for name in changed[:6])
        raise ArgumentError(
            f"--output_dir {output_dir} holds checkpoints of another run (different {shown}); to start over there "
            "pass --overwrite_output_dir true, to resume it repeat that run's data and options, or use another "
            "--output_dir."
        )


def write_run_fingerprint(output_dir: str, fingerprint: dict[str, Any]) -> None:
    """Keep the fingerprint of the run in `output_dir` (atomically), creating the folder if needed."""
    os.makedirs(output_dir, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output_dir, prefix=".fingerprint-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(fingerprint, file, indent=2)
        os.replace(temporary, os.path.join(output_dir, FINGERPRINT_FILENAME))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
