"""The plots of a model card: the training curve, and the test confusion matrix or per-label F1."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from .model_card_data import RecurrentModelCardData


def _title(card_data: RecurrentModelCardData) -> str:
    return f"{card_data.model_id} ({card_data.architecture})"


def plot_training_curve(card_data: RecurrentModelCardData, path: str | os.PathLike) -> None:
    """Loss and accuracy per epoch, training (running average over the epoch) and validation, as a PNG."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(figure)
    selected = card_data.training.get("selected_epoch")
    accuracy_name = "subset accuracy" if card_data.multi_label else "accuracy"
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        for split, style in (("train", "o--"), ("validation", "s-")):
            points = [
                (entry["epoch"], entry[f"{split}_{metric}"])
                for entry in card_data.history
                if entry.get(f"{split}_{metric}") is not None
            ]
            if points:
                axes.plot(*zip(*points), style, label="train (running)" if split == "train" else split)
        if selected is not None:
            axes.axvline(selected, color="grey", linestyle=":", label="selected epoch")
        name = accuracy_name if metric == "accuracy" else metric
        axes.set(xlabel="epoch", ylabel=name, title=name.capitalize())
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(_title(card_data))
    figure.savefig(path, dpi=100, format="png")


def plot_confusion_matrix(card_data: RecurrentModelCardData, path: str | os.PathLike) -> None:
    """The test-split confusion matrix (rows true, columns predicted), with counts written in when it is small."""
    matrix = np.asarray(card_data.confusion_matrix)
    size = len(card_data.labels)
    side = max(5.0, 0.28 * size + 2.0)
    figure = Figure(figsize=(side, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    font = 9 if size <= 12 else 6
    axes.set_xticks(range(size), card_data.labels, rotation=90, fontsize=font)
    axes.set_yticks(range(size), card_data.labels, fontsize=font)
    axes.set(xlabel="predicted label", ylabel="true label")
    noun = "questions" if card_data.is_trec else "texts"
    axes.set_title(f"{card_data.model_id}: test split, {matrix.sum()} {noun}")
    if size <= 12:
        for (row, column), count in np.ndenumerate(matrix):
            color = "white" if count > matrix.max() / 2 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=color, fontsize=font)
    figure.savefig(path, dpi=100, format="png")


def plot_per_label_f1(card_data: RecurrentModelCardData, path: str | os.PathLike) -> None:
    """Multi-label models: the test-split F1 of each label as horizontal bars, with its support written beside."""
    rows = card_data.per_class
    size = len(rows)
    figure = Figure(figsize=(8, max(3.0, 0.3 * size + 1.5)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    positions = np.arange(size)
    axes.barh(positions, [row["f1"] for row in rows], color="tab:blue")
    font = 9 if size <= 30 else 6
    axes.set_yticks(positions, [row["label"] for row in rows], fontsize=font)
    axes.invert_yaxis()  # labels top to bottom in id order
    axes.set_xlim(0, 1.15)
    for position, row in zip(positions, rows):
        axes.text(min(row["f1"], 1.0) + 0.01, position, f"n={row['support']}", va="center", fontsize=font)
    axes.set(xlabel="F1 (test split)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(f"{card_data.model_id}: F1 per label, threshold {card_data.threshold:g}")
    figure.savefig(path, dpi=100, format="png")
