"""Knowledge distillation: fine-tune a transformers teacher, then train a recurrent student on its soft labels."""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset, DatasetDict, concatenate_datasets
from torch import nn
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

from .data import label_names as data_label_names
from .inference import predict_proba
from .metrics import build_compute_metrics
from .pretrained_embeddings import resolve_model_location


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    hard_loss: torch.Tensor,
    alpha: float,
    temperature: float,
) -> torch.Tensor:
    """
    `alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * hard_loss` (Hinton et al.,
    2015), where `hard_loss` is the student's own loss on the gold labels (with its class weights and label
    smoothing). The `T^2` keeps the soft-label gradients on the scale of the hard-label ones.
    """
    soft_targets = torch.log_softmax(teacher_logits.float() / temperature, dim=-1)
    soft_student = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    soft = nn.functional.kl_div(soft_student, soft_targets, reduction="batchmean", log_target=True)
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard_loss


def augment_texts(
    texts: list[str],
    copies: int,
    seed: int,
    mask_probability: float = 0.1,
    ngram_probability: float = 0.25,
    unknown_token: str = "[UNK]",
) -> list[str]:
    """
    Perturbed copies of each text, to show the student more of the teacher's judgement than the training
    texts alone (the transfer-set augmentation of Tang et al., 2019, "Distilling Task-Specific Knowledge from BERT
    into Simple Neural Networks"). In each copy every word is replaced by `unknown_token` with probability
    `mask_probability`; then, with probability `ngram_probability`, only a random span of 1 to 5 words is kept.

    Returns:
        `list[str]`: `copies` perturbed versions of every text, text by text.
    """
    rng = random.Random(seed)
    augmented = []
    for text in texts:
        words = text.split()
        for _ in range(copies):
            copy = [unknown_token if rng.random() < mask_probability else word for word in words]
            if len(copy) > 1 and rng.random() < ngram_probability:
                length = rng.randint(1, min(5, len(copy)))
                start = rng.randint(0, len(copy) - length)
                copy = copy[start : start + length]
            augmented.append(" ".join(copy))
    return augmented


def teacher_logits(teacher_dir: str | os.PathLike, texts: list[str], label_names: list[str]) -> np.ndarray:
    """
    Log-probabilities of a fine-tuned transformers classifier for `texts`, its classes put in the order of
    `label_names` (matched by name, so the teacher's label ids need not agree).
    """
    teacher_dir = resolve_model_location(teacher_dir)
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    names = [teacher.config.id2label[index] for index in range(teacher.config.num_labels)]
    if sorted(names) != sorted(label_names):
        raise ValueError(f"{teacher_dir}: the teacher predicts {names}, but the student learns {label_names}.")
    probabilities = predict_proba(teacher, tokenizer, texts, batch_size=64)
    return np.log(np.clip(probabilities[:, [names.index(name) for name in label_names]], 1e-12, None))


def text_key(text: str) -> str:
    """The key of a text in a soft-label file: a short hash, so that the file holds no text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def write_soft_labels(
    teacher_dir: str | os.PathLike,
    texts: list[str],
    label_names: list[str],
    path: str | os.PathLike,
    copies: int = 0,
    seed: int = 0,
) -> int:
    """
    Write the teacher's log-probabilities for `texts` (the training texts) and `copies` perturbed copies of each
    (`augment_texts` with `seed`) to a parquet file, keyed by `text_key`: no text is stored. The file's metadata keep
    the label names, `copies` and `seed`, so a student run (`--teacher_soft_labels`) rebuilds the same copies.

    Returns:
        `int`: The number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    augmented = augment_texts(texts, copies, seed=seed)
    everything = list(dict.fromkeys(texts + augmented))  # a repeated text is one row
    logits = teacher_logits(teacher_dir, everything, label_names).astype(np.float32)
    table = pa.table(
        {"key": [text_key(text) for text in everything], "teacher_logits": list(logits)},
        metadata={
            "hf_rnn_soft_labels": json.dumps(
                {
                    "label_names": label_names,
                    "copies": copies,
                    "seed": seed,
                    "teacher": os.path.basename(os.path.normpath(os.fspath(teacher_dir))),
                }
            )
        },
    )
    pq.write_table(table, path, compression="zstd")
    return len(everything)


@dataclass
class SoftLabels:
    """A soft-label file read back: the teacher's log-probabilities by text key, and how its copies were made."""

    logits: dict[str, np.ndarray]
    label_names: list[str]
    copies: int
    seed: int

    @classmethod
    def read(cls, path: str | os.PathLike) -> SoftLabels:
        """Read a file written by `write_soft_labels` (`ValueError` naming the file if it is not one)."""
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            info = json.loads(table.schema.metadata[b"hf_rnn_soft_labels"])
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise ValueError(f"{path}: not a soft-label file written by `hf-rnn teacher` ({error}).") from None
        rows = table.to_pydict()
        logits = {key: np.asarray(row, dtype=np.float32) for key, row in zip(rows["key"], rows["teacher_logits"])}
        return cls(logits, info["label_names"], int(info["copies"]), int(info["seed"]))

    def lookup(self, texts: list[str], label_names: list[str], source: str) -> np.ndarray:
        """The log-probabilities of `texts`, columns in the order of `label_names`; every text must be covered."""
        if sorted(self.label_names) != sorted(label_names):
            raise ValueError(f"{source}: soft labels for {self.label_names}, but the student learns {label_names}.")
        missing = [text for text in texts if text_key(text) not in self.logits]
        if missing:
            raise ValueError(
                f"{source}: no soft labels for {len(missing)} of {len(texts)} training texts "
                f"(e.g. {missing[0][:60]!r}); "
                "the file was written for other training data (another file, split or split seed)."
            )
        order = [self.label_names.index(name) for name in label_names]
        return np.stack([self.logits[text_key(text)][order] for text in texts])


def adjust_teacher(log_probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """
    Knowledge adjustment (Wen et al., 2019, "Preparing Lessons: Improve Knowledge Distillation with Better
    Supervision"): in every row whose top class is not `labels`' class, swap the scores of the two classes, so the
    teacher's ranking of the other classes is kept while its mistake on a training text is not taught.

    Returns:
        `np.ndarray`: A corrected copy of `log_probabilities`.
    """
    adjusted = log_probabilities.copy()
    top = adjusted.argmax(axis=-1)
    wrong = np.flatnonzero(top != labels)
    adjusted[wrong, top[wrong]] = log_probabilities[wrong, labels[wrong]]
    adjusted[wrong, labels[wrong]] = log_probabilities[wrong, top[wrong]]
    return adjusted


def distillation_set(
    encoded_train: Dataset,
    texts: list[str],
    tokenizer: PreTrainedTokenizerBase,
    label_names: list[str],
    max_length: int,
    teacher: str | os.PathLike | None = None,
    soft_labels: str | os.PathLike | None = None,
    copies: int = 0,
    seed: int = 0,
    adjust: bool = False,
) -> Dataset:
    """
    The encoded train split with the teacher's log-probabilities as `teacher_logits`, plus perturbed copies of each
    text (`augment_texts`) labelled by the teacher alone (their `labels` are the teacher's choice).

    The log-probabilities come from the `teacher` model (with `copies` copies per text drawn with `seed`), or from
    a `soft_labels` file written by `write_soft_labels` (with the copies and seed it was written with). With
    `adjust`, the teacher's mistakes are corrected by `adjust_teacher` against the gold label of each text (for a
    copy: of the text it was made from), and copies keep that gold label.
    """
    if soft_labels is not None:
        stored = SoftLabels.read(soft_labels)
        copies, seed = stored.copies, stored.seed
    augmented = augment_texts(texts, copies, seed=seed)
    if soft_labels is not None:
        all_logits = stored.lookup(texts + augmented, label_names, os.fspath(soft_labels))
    else:
        all_logits = teacher_logits(teacher, texts + augmented, label_names)
    if adjust:
        gold = np.asarray(encoded_train["labels"])
        all_logits = adjust_teacher(all_logits, np.concatenate([gold, np.repeat(gold, copies)]))
    train = encoded_train.add_column("teacher_logits", all_logits[: len(texts)].tolist())
    if not augmented:
        return train
    extra = Dataset.from_dict(
        {
            **tokenizer(augmented, truncation=True, max_length=max_length),
            "labels": all_logits[len(texts) :].argmax(axis=-1).tolist(),
            "teacher_logits": all_logits[len(texts) :].tolist(),
        }
    )
    return concatenate_datasets([train, extra.cast(train.features)])


def train_teacher(
    base_model: str | os.PathLike, training_args: TrainingArguments, data: DatasetDict
) -> dict[str, float]:
    """
    Fine-tune a transformers encoder (e.g. MiniLM) as a classifier of `data` (pass the very splits the students use,
    from `hf_rnn.data.load_splits`), keep the best validation checkpoint if `training_args` asks for it, and save it
    to `training_args.output_dir`. Single-label data only.

    Returns:
        `dict[str, float]`: Validation (`eval_`) and test (`test_`) accuracy and macro-F1.
    """
    label_names = data_label_names(data)
    base_model = resolve_model_location(base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: index for index, name in enumerate(label_names)},
        use_safetensors=True,
    )

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=128)
        encoded["labels"] = batch["label"]
        return encoded

    encoded = data.map(encode, batched=True, remove_columns=data["train"].column_names)
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=build_compute_metrics(),
    )
    trainer.train()
    trainer.save_model()
    metrics = trainer.evaluate(encoded["validation"], metric_key_prefix="eval")
    metrics.update(trainer.evaluate(encoded["test"], metric_key_prefix="test"))
    trainer.save_metrics("all", metrics)
    return metrics
