"""Loading saved classifiers and scoring questions and label files with them (no Trainer needed)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .data import COARSE_LABELS, read_label_file
from .metrics import classification_metrics


def load_classifier(model_name_or_path: str | os.PathLike) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a saved classifier and its tokenizer (in eval mode) from a directory or Hub id."""
    model = AutoModelForSequenceClassification.from_pretrained(model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
    return model.eval(), tokenizer


def validate_questions(questions: Sequence[str]) -> list[str]:
    """Return `questions` as a list, raising `TypeError` for anything that is not a string."""
    if isinstance(questions, str):
        raise TypeError("expected a sequence of questions, got a single string; wrap it in a list.")
    checked = list(questions)
    for index, question in enumerate(checked):
        if not isinstance(question, str):
            raise TypeError(f"question {index} is {type(question).__name__}, expected str.")
    return checked


def predict_proba(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[str],
    batch_size: int = 64,
    max_length: int | None = None,
) -> np.ndarray:
    """
    Class probabilities of each question, in input order.

    Questions are batched by length (less padding) and truncated to `max_length` tokens (default: the tokenizer's
    `model_max_length`), with a warning naming how many were cut.

    Returns:
        `np.ndarray` of shape `(len(questions), num_labels)`, rows summing to 1.
    """
    questions = validate_questions(questions)
    max_length = max_length or tokenizer.model_max_length
    encoded = tokenizer(questions, truncation=False)["input_ids"]
    too_long = sum(len(ids) > max_length for ids in encoded)
    if too_long:
        warnings.warn(f"{too_long} question(s) longer than {max_length} tokens were truncated.", stacklevel=2)
    order = sorted(range(len(questions)), key=lambda index: len(encoded[index]))
    probabilities = np.zeros((len(questions), model.config.num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer.pad(
                {"input_ids": [encoded[index][:max_length] for index in rows]}, return_tensors="pt"
            ).to(device)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            probabilities[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return probabilities


def predict(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, questions: Sequence[str], batch_size: int = 64
) -> list[dict[str, object]]:
    """The most probable label of each question, with its probability: `[{"label": ..., "score": ...}, ...]`."""
    probabilities = predict_proba(model, tokenizer, questions, batch_size=batch_size)
    best = probabilities.argmax(axis=-1)
    return [
        {"label": model.config.id2label[int(index)], "score": float(row[index])}
        for index, row in zip(best, probabilities)
    ]


def label_column_for(model: PreTrainedModel) -> str:
    """`"coarse_label"` if the model predicts the 6 coarse TREC classes, `"fine_label"` if `COARSE:fine` classes."""
    names = set(model.config.id2label.values())
    if names <= set(COARSE_LABELS):
        return "coarse_label"
    if all(":" in name for name in names):
        return "fine_label"
    raise ValueError(f"the model's labels {sorted(names)[:8]} are neither TREC coarse nor fine labels.")


def evaluate_file(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, label_file: str | os.PathLike, batch_size: int = 64
) -> dict[str, object]:
    """
    Score a Li & Roth label file: accuracy, macro-F1 and the number of questions `n`. Gold labels are matched to the
    model's labels by name, so label ids never need to agree.
    """
    questions = read_label_file(label_file)
    column = label_column_for(model)
    label2id = model.config.label2id
    missing = sorted({getattr(q, column) for q in questions} - set(label2id))
    if missing:
        raise ValueError(f"{label_file}: labels {missing} are not among the model's labels.")
    references = [label2id[getattr(question, column)] for question in questions]
    probabilities = predict_proba(model, tokenizer, [question.text for question in questions], batch_size=batch_size)
    metrics = classification_metrics(references, probabilities.argmax(axis=-1), model.config.num_labels)
    return {**metrics, "n": len(questions), "label_column": column, "file": os.fspath(label_file)}
