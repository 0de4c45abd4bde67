"""Classification metrics computed offline with NumPy (`evaluate.load("accuracy")` needs the network)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from transformers import EvalPrediction


def confusion_matrix(references: Sequence[int], predictions: Sequence[int], num_labels: int) -> np.ndarray:
    """Counts `matrix[true, predicted]` over `num_labels` classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(references, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of each class from a confusion matrix (0 where undefined)."""
    true_positive = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, support, out=np.zeros_like(true_positive), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(true_positive), where=total > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def classification_metrics(
    references: Sequence[int], predictions: Sequence[int], num_labels: int
) -> dict[str, float]:
    """
    Accuracy and macro-F1. Macro-F1 averages the F1 of the classes present in `references` or `predictions`, as
    scikit-learn does with `labels=None`.
    """
    references = np.asarray(references, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if references.size == 0:
        raise ValueError("cannot compute metrics on zero examples.")
    matrix = confusion_matrix(references, predictions, num_labels)
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    f1 = per_class_scores(matrix)["f1"]
    return {
        "accuracy": float((references == predictions).mean()),
        "macro_f1": float(f1[present].mean()),
    }


def compute_metrics(eval_prediction: EvalPrediction) -> dict[str, float]:
    """`Trainer` hook: accuracy and macro-F1 from the logits and label ids of an evaluation."""
    logits = eval_prediction.predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    return classification_metrics(eval_prediction.label_ids, logits.argmax(axis=-1), logits.shape[-1])
