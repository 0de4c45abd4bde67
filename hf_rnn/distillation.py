"""Knowledge distillation: fine-tune a transformers teacher, then train a recurrent student on its soft labels."""

from __future__ import annotations

import os
import random

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

from .inference import predict_proba
from .data import label_names as data_label_names
from .metrics import build_compute_metrics


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float,
    temperature: float,
) -> torch.Tensor:
    """
    `alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, labels)`
    (Hinton et al., 2015). The `T^2` keeps the soft-label gradients on the scale of the hard-label ones.
    """
    soft_targets = torch.log_softmax(teacher_logits.float() / temperature, dim=-1)
    soft_student = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    soft = nn.functional.kl_div(soft_student, soft_targets, reduction="batchmean", log_target=True)
    hard = nn.functional.cross_entropy(student_logits.float(), labels)
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard


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
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    names = [teacher.config.id2label[index] for index in range(teacher.config.num_labels)]
    if sorted(names) != sorted(label_names):
        raise ValueError(f"{teacher_dir}: the teacher predicts {names}, but the student learns {label_names}.")
    probabilities = predict_proba(teacher, tokenizer, texts, batch_size=64)
    return np.log(np.clip(probabilities[:, [names.index(name) for name in label_names]], 1e-12, None))


def distillation_set(
    encoded_train: Dataset,
    texts: list[str],
    tokenizer: PreTrainedTokenizerBase,
    label_names: list[str],
    teacher: str | os.PathLike,
    copies: int,
    seed: int,
    max_length: int,
) -> Dataset:
    """
    The encoded train split with the teacher's log-probabilities as `teacher_logits`, plus `copies` perturbed copies
    of each text (`augment_texts`) labelled by the teacher alone (their `labels` are the teacher's choice).
    """
    augmented = augment_texts(texts, copies, seed=seed)
    soft_labels = teacher_logits(teacher, texts + augmented, label_names)
    train = encoded_train.add_column("teacher_logits", soft_labels[: len(texts)].tolist())
    if not augmented:
        return train
    extra = Dataset.from_dict(
        {
            **tokenizer(augmented, truncation=True, max_length=max_length),
            "labels": soft_labels[len(texts) :].argmax(axis=-1).tolist(),
            "teacher_logits": soft_labels[len(texts) :].tolist(),
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
