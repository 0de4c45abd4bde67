"""
Classification metrics as an `evaluate` module that works offline.

`evaluate.load("accuracy")` fetches its script from the Hub; `ClassificationScores` is a local `evaluate.Metric`
(single-label, or `config_name="multilabel"`) computed with NumPy, so training and evaluation never need the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import datasets
import evaluate
import numpy as np
from transformers import EvalPrediction

SINGLE_LABEL, MULTI_LABEL = "default", "multilabel"


def confusion_matrix(references: Sequence[int], predictions: Sequence[int], num_labels: int) -> np.ndarray:
    """Counts `matrix[true, predicted]` over `num_labels` classes."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(references, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _scores(true_positive: np.ndarray, predicted: np.ndarray, support: np.ndarray) -> dict[str, np.ndarray]:
    precision, recall = _ratio(true_positive, predicted), _ratio(true_positive, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": np.asarray(support, np.int64)}


def per_class_scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of each class from a confusion matrix (0 where undefined)."""
    return _scores(np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1))


def per_label_scores(references: np.ndarray, predictions: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of each label from multi-hot (0/1) rows (0 where undefined)."""
    references, predictions = np.asarray(references, np.int64), np.asarray(predictions, np.int64)
    return _scores((references & predictions).sum(axis=0), predictions.sum(axis=0), references.sum(axis=0))


def _averages(true_positive: np.ndarray, predicted: np.ndarray, support: np.ndarray) -> dict[str, float]:
    """Macro (over the labels present in references or predictions, as scikit-learn's `labels=None`), micro and
    support-weighted averages."""
    per_label = _scores(true_positive, predicted, support)
    present = (predicted + support) > 0
    micro = _scores(true_positive.sum(keepdims=True), predicted.sum(keepdims=True), support.sum(keepdims=True))
    weights = support / support.sum() if support.sum() > 0 else np.zeros_like(support, dtype=np.float64)
    return {
        "macro_f1": float(per_label["f1"][present].mean()),
        "micro_f1": float(micro["f1"][0]),
        "weighted_f1": float((per_label["f1"] * weights).sum()),
        "macro_precision": float(per_label["precision"][present].mean()),
        "macro_recall": float(per_label["recall"][present].mean()),
    }


class ClassificationScores(evaluate.Metric):
    """
    Accuracy with macro, micro and weighted F1 and macro precision and recall.

    Single-label (`config_name="default"`): `predictions` and `references` are class ids. Multi-label
    (`config_name="multilabel"`): they are 0/1 rows of one entry per label, and `accuracy` is subset accuracy (every
    label of a row right), also reported as `subset_accuracy`.

    Example:

    ```python
    >>> from hf_rnn.metrics import ClassificationScores
    >>> ClassificationScores().compute(predictions=[0, 1, 1], references=[0, 1, 2], num_labels=3)["accuracy"]
    0.6666666666666666
    ```"""

    def _info(self) -> evaluate.MetricInfo:
        value = datasets.Value("int64")
        kind = datasets.Sequence(value) if self.config_name == MULTI_LABEL else value
        return evaluate.MetricInfo(
            description="Accuracy, F1, precision and recall of a classifier (hf_rnn, computed offline).",
            citation="",
            inputs_description="predictions, references: class ids (multilabel: 0/1 rows); num_labels: int.",
            features=datasets.Features({"predictions": kind, "references": kind}),
        )

    def _compute(self, predictions, references, num_labels: int | None = None) -> dict[str, float]:
        predictions, references = np.asarray(predictions, np.int64), np.asarray(references, np.int64)
        if references.shape[0] == 0:
            raise ValueError("cannot compute metrics on zero examples.")
        if self.config_name == MULTI_LABEL:
            true_positive = (predictions & references).sum(axis=0)
            scores = _averages(true_positive, predictions.sum(axis=0), references.sum(axis=0))
            subset = float((predictions == references).all(axis=1).mean())
            return {"accuracy": subset, "subset_accuracy": subset, **scores}
        num_labels = num_labels or int(max(predictions.max(), references.max())) + 1
        matrix = confusion_matrix(references, predictions, num_labels)
        scores = _averages(np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1))
        return {"accuracy": float((predictions == references).mean()), **scores}


def classification_metrics(
    references: Sequence, predictions: Sequence, num_labels: int, multi_label: bool = False
) -> dict[str, float]:
    """The scores of `ClassificationScores` for one set of predictions."""
    metric = ClassificationScores(config_name=MULTI_LABEL if multi_label else SINGLE_LABEL)
    return metric.compute(predictions=predictions, references=references, num_labels=num_labels)


def multi_hot(label_sets: Sequence[Sequence[int]], num_labels: int) -> np.ndarray:
    """0/1 rows, one entry per label, from lists of label ids."""
    rows = np.zeros((len(label_sets), num_labels), dtype=np.int64)
    for row, labels in zip(rows, label_sets):
        row[list(labels)] = 1
    return rows


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise, without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))


def build_compute_metrics(multi_label: bool = False, threshold: float = 0.5) -> Callable[[EvalPrediction], dict]:
    """
    A `Trainer` `compute_metrics` hook: the argmax class of each row, or for multi-label models every label whose
    sigmoid reaches `threshold`, scored by `ClassificationScores`.
    """

    def compute_metrics(eval_prediction: EvalPrediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        if multi_label:
            predictions = (sigmoid(logits) >= threshold).astype(np.int64)
            references = np.asarray(eval_prediction.label_ids).astype(np.int64)
        else:
            predictions, references = logits.argmax(axis=-1), eval_prediction.label_ids
        return classification_metrics(references, predictions, logits.shape[-1], multi_label=multi_label)

    return compute_metrics


def tune_threshold(probabilities: np.ndarray, references: np.ndarray, metric: str = "micro_f1") -> float:
    """The decision threshold in 0.05 ... 0.95 that scores best on `metric` (ties: the one closest to 0.5)."""
    candidates = sorted(np.round(np.arange(0.05, 0.96, 0.05), 2), key=lambda value: abs(value - 0.5))
    num_labels = probabilities.shape[1]

    def score(threshold: float) -> float:
        predictions = (probabilities >= threshold).astype(np.int64)
        return classification_metrics(references, predictions, num_labels, multi_label=True)[metric]

    return float(max(candidates, key=score))
