"""The baselines hf_rnn is measured against: TF-IDF n-grams with a linear SVM, and a plain PyTorch LSTM loop.

Both read exactly the splits the hf_rnn models use (`hf_rnn.data.load_splits`: columns `text` and `label`), fit only
on the train split, choose anything they choose on the validation split, and score the test split once. They run
inside `python -m scripts.reproduce`; to use them elsewhere, `from scripts.baselines import tfidf_svm` from the
repository root.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import torch
from datasets import DatasetDict
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from hf_rnn.metrics import classification_metrics
from scripts.common.plain_loop import PlainLoop


def _scores(prefix: str, references, predictions, num_labels: int) -> dict[str, float]:
    return {
        f"{prefix}_{key}": value for key, value in classification_metrics(references, predictions, num_labels).items()
    }


def tfidf_svm(data: DatasetDict) -> dict[str, float]:
    """TF-IDF word 1-2-grams plus character 2-5-grams, LinearSVC with C picked on the validation split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    num_labels = data["train"].features["label"].num_classes
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True),
    )
    train_x = features.fit_transform(data["train"]["text"])
    validation_x, test_x = features.transform(data["validation"]["text"]), features.transform(data["test"]["text"])
    best = None
    for c in (0.1, 0.3, 1.0, 3.0, 10.0):
        classifier = LinearSVC(C=c).fit(train_x, data["train"]["label"])
        accuracy = float((classifier.predict(validation_x) == np.asarray(data["validation"]["label"])).mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, classifier)
    classifier = best[1]
    results = _scores("train", data["train"]["label"], classifier.predict(train_x), num_labels)
    results.update(_scores("eval", data["validation"]["label"], classifier.predict(validation_x), num_labels))
    results.update(_scores("test", data["test"]["label"], classifier.predict(test_x), num_labels))
    results["wall_seconds"] = time.perf_counter() - start
    return results


class _PlainLSTM(nn.Module):
    def __init__(self, vocab_size: int, num_labels: int, dim: int = 128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.out = nn.Linear(dim, num_labels)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, (state, _) = self.lstm(packed)
        return self.out(state[-1])


def _padded(ids: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"ids": pad_sequence(ids, batch_first=True), "lengths": torch.tensor([len(row) for row in ids])}


def _cross_entropy(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return nn.functional.cross_entropy(model(batch["ids"], batch["lengths"]), batch["labels"])


def plain_pytorch_lstm(data: DatasetDict, seed: int = 42, epochs: int = 15) -> dict[str, float]:
    """
    What people write by hand: lowercase whitespace vocabulary from the train split, 1-layer LSTM with 128 units,
    Adam (lr 1e-3), batch 32 in a new random order every epoch, 15 epochs, the model after the last epoch scored.
    Trained by the scripts' one hand-written loop (`scripts.common.plain_loop.PlainLoop`).
    """
    start = time.perf_counter()
    random.seed(seed)
    torch.manual_seed(seed)
    counts = Counter(word for text in data["train"]["text"] for word in text.lower().split())
    vocabulary = {word: index for index, word in enumerate(sorted(counts), start=2)}  # 0 pad, 1 unknown

    def encode(split: str) -> tuple[list[torch.Tensor], torch.Tensor]:
        ids = [
            torch.tensor([vocabulary.get(w, 1) for w in text.lower().split()] or [1]) for text in data[split]["text"]
        ]
        return ids, torch.tensor(data[split]["label"])

    num_labels = data["train"].features["label"].num_classes
    model = _PlainLSTM(len(vocabulary) + 2, num_labels)
    train_ids, train_labels = encode("train")
    order = list(range(len(train_ids)))

    def epoch_batches(epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        random.shuffle(order)
        for begin in range(0, len(order), 32):
            rows = order[begin : begin + 32]
            yield {**_padded([train_ids[row] for row in rows]), "labels": train_labels[rows]}

    PlainLoop(model, torch.optim.Adam(model.parameters(), lr=1e-3), epoch_batches, loss=_cross_entropy).train(epochs)

    results = {}
    model.eval()
    for split, prefix in (("train", "train"), ("validation", "eval"), ("test", "test")):
        ids, labels = encode(split)
        with torch.no_grad():
            logits = model(**_padded(ids))
        results.update(_scores(prefix, labels.tolist(), logits.argmax(-1).tolist(), num_labels))
    results["wall_seconds"] = time.perf_counter() - start
    return results
