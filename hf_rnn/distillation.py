"""Knowledge distillation: fine-tune a transformers teacher, then train a recurrent student on its soft labels."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

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
from .pretrained_embeddings import load_pretrained_embeddings, resolve_model_location

NEIGHBOUR_COUNT = 10  # candidates for a replaced word
KEEP_FRACTION = 0.01  # words in at least this share of the texts are never replaced


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
    replace_probability: float = 0.0,
    neighbours: Mapping[str, Sequence[str]] | None = None,
    unknown_token: str = "[UNK]",
) -> list[str]:
    """
    Perturbed copies of each text, to show the student more of the teacher's judgement than the training
    texts alone (the transfer-set augmentation of Tang et al., 2019, "Distilling Task-Specific Knowledge from BERT
    into Simple Neural Networks"). In each copy every word is replaced by `unknown_token` with probability
    `mask_probability`, or, with probability `replace_probability`, by one of its `neighbours` (lower-cased words to
    similar words, see `word_neighbours`; a word without neighbours stays); then, with probability
    `ngram_probability`, only a random span of 1 to 5 words is kept.

    Returns:
        `list[str]`: `copies` perturbed versions of every text, text by text.
    """
    if replace_probability > 0 and neighbours is None:
        raise ValueError("replacing words needs their `neighbours`.")
    rng = random.Random(seed)
    augmented = []
    for text in texts:
        words = text.split()
        for _ in range(copies):
            copy = []
            for word in words:
                draw = rng.random()
                if draw < mask_probability:
                    copy.append(unknown_token)
                elif draw < mask_probability + replace_probability and neighbours and neighbours.get(word.lower()):
                    copy.append(rng.choice(neighbours[word.lower()]))
                else:
                    copy.append(word)
            if len(copy) > 1 and rng.random() < ngram_probability:
                length = rng.randint(1, min(5, len(copy)))
                start = rng.randint(0, len(copy) - length)
                copy = copy[start : start + length]
            augmented.append(" ".join(copy))
    return augmented


def word_neighbours(
    model_name_or_path: str | os.PathLike,
    texts: list[str],
    count: int = NEIGHBOUR_COUNT,
    keep_fraction: float = KEEP_FRACTION,
) -> dict[str, list[str]]:
    """
    For each word of `texts` that the vocabulary of `model_name_or_path` holds as a whole word (letters only, at least
    three), its `count` nearest whole words by the cosine of that model's input embeddings (e.g. `sword`: `swords`,
    `weapon`, `knife`, ...). Words found in at least `keep_fraction` of the texts (question words, articles, the
    task's frequent cues), and in more than one, get no neighbours, so augmentation never replaces them. Suits
    WordPiece and word-level vocabularies, whose tokens are words; words are matched lower-cased.

    Returns:
        `dict[str, list[str]]`: Lower-cased words to their neighbours, nearest first.
    """
    tokenizer, weights = load_pretrained_embeddings(model_name_or_path)
    special = set(tokenizer.all_special_tokens)
    vocabulary = [
        token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
        if token.isalpha() and len(token) >= 3 and token not in special
    ]  # fmt: skip
    if not vocabulary:
        raise ValueError(f"{model_name_or_path}: its vocabulary holds no whole words to replace words with.")
    rows = {token: row for row, token in enumerate(vocabulary)}
    document_counts = Counter(word for text in texts for word in {word.lower() for word in text.split()})
    frequent = max(2.0, keep_fraction * len(texts))  # a word of a single text may always be replaced
    words = sorted(word for word, n in document_counts.items() if word in rows and n < frequent)
    # float64: the order of nearly equal neighbours, and so every copy, must not depend on the machine's kernels
    vectors = weights[[tokenizer.convert_tokens_to_ids(token) for token in vocabulary]].double()
    vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)
    neighbours = {}
    for start in range(0, len(words), 1024):
        chunk = words[start : start + 1024]
        own_rows = [rows[word] for word in chunk]
        similarity = vectors[own_rows] @ vectors.T
        similarity[torch.arange(len(chunk)), own_rows] = -math.inf  # not the word itself
        nearest = similarity.topk(min(count, len(vocabulary) - 1), dim=1).indices.tolist()
        neighbours.update({word: [vocabulary[index] for index in row] for word, row in zip(chunk, nearest)})
    return neighbours


@dataclass(frozen=True)
class Augmentation:
    """
    How the perturbed copies of the training texts are made: `copies` per text drawn with `seed` (`augment_texts`),
    words replaced with `replace_probability` by their neighbours in the input embeddings of `neighbours_from`.
    """

    copies: int = 0
    seed: int = 0
    replace_probability: float = 0.0
    neighbours_from: str | None = None

    def __post_init__(self) -> None:
        if self.replace_probability > 0 and self.neighbours_from is None:
            raise ValueError("replacing words by their neighbours needs a model to find them (`neighbours_from`).")

    def apply(self, texts: list[str]) -> list[str]:
        """The copies of `texts`, text by text."""
        if not self.copies:
            return []
        neighbours = None
        if self.replace_probability > 0:
            neighbours = word_neighbours(self.neighbours_from, texts)
        return augment_texts(
            texts, self.copies, self.seed, replace_probability=self.replace_probability, neighbours=neighbours
        )


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


def text_key(text: str) -> int:
    """The key of a text in a soft-label file: a 64-bit hash, so that the file holds no text."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little", signed=True)


def first_format_text_key(text: str) -> str:
    """The key of a text in soft-label files of the first format (20 hex digits of the hash, float32 scores)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def average_log_probabilities(members: Sequence[np.ndarray]) -> np.ndarray:
    """The ensemble of classifiers' log-probabilities: their mean, renormalised (the normalised geometric mean)."""
    mean = np.mean(members, axis=0)
    return mean - np.logaddexp.reduce(mean, axis=-1, keepdims=True)


def ensemble_logits(teacher_dirs: Sequence[str | os.PathLike], texts: list[str], label_names: list[str]) -> np.ndarray:
    """
    Log-probabilities of an ensemble of fine-tuned classifiers for `texts`: `average_log_probabilities` of each
    teacher's `teacher_logits`.
    """
    return average_log_probabilities([teacher_logits(teacher_dir, texts, label_names) for teacher_dir in teacher_dirs])


def write_soft_labels(
    teacher_dir: str | os.PathLike | Sequence[str | os.PathLike],
    texts: list[str],
    label_names: list[str],
    path: str | os.PathLike,
    augmentation: Augmentation | None = None,
) -> int:
    """
    Write the teacher's log-probabilities for `texts` (the training texts) and their perturbed copies
    (`augmentation`) to a parquet file, keyed by `text_key` (no text is stored) and kept as float16. Several teachers
    write their ensemble (`ensemble_logits`). The file's metadata keep the label names and the `Augmentation`, so a
    student run (`--teacher_soft_labels`) rebuilds the same copies.

    Returns:
        `int`: The number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    augmentation = augmentation or Augmentation()
    everything = list(dict.fromkeys(texts + augmentation.apply(texts)))  # a repeated text is one row
    teacher_dirs = [teacher_dir] if isinstance(teacher_dir, (str, os.PathLike)) else list(teacher_dir)
    logits = ensemble_logits(teacher_dirs, everything, label_names).astype(np.float16)
    table = pa.table(
        {
            "key": pa.array([text_key(text) for text in everything], type=pa.int64()),
            "teacher_logits": pa.FixedSizeListArray.from_arrays(pa.array(logits.ravel()), len(label_names)),
        },
        metadata={
            "hf_rnn_soft_labels": json.dumps(
                {
                    "label_names": label_names,
                    **asdict(augmentation),
                    "teacher": "+".join(os.path.basename(os.path.normpath(os.fspath(path))) for path in teacher_dirs),
                }
            )
        },
    )
    pq.write_table(table, path, compression="zstd", compression_level=19)
    return len(everything)


@dataclass
class SoftLabels:
    """A soft-label file read back: the teacher's log-probabilities by text key, and how its copies were made."""

    logits: dict[int | str, np.ndarray]
    label_names: list[str]
    augmentation: Augmentation
    key: Callable[[str], int | str] = text_key

    @classmethod
    def read(cls, path: str | os.PathLike) -> SoftLabels:
        """Read a file written by `write_soft_labels`, in this format or the first (`ValueError` naming the file if it
        is not one)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            info = json.loads(table.schema.metadata[b"hf_rnn_soft_labels"])
            keys = table.column("key").to_numpy(zero_copy_only=False)
            rows = np.asarray(table.column("teacher_logits").combine_chunks().flatten(), dtype=np.float32)
            augmentation = Augmentation(
                int(info["copies"]), int(info["seed"]), float(info.get("replace_probability", 0.0)),
                info.get("neighbours_from"),
            )  # fmt: skip
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as error:
            raise ValueError(f"{path}: not a soft-label file written by `hf-rnn teacher` ({error}).") from None
        rows = rows.reshape(len(keys), len(info["label_names"]))
        key = first_format_text_key if pa.types.is_string(table.schema.field("key").type) else text_key
        return cls(dict(zip(keys.tolist(), rows)), info["label_names"], augmentation, key)

    def lookup(self, texts: list[str], label_names: list[str], source: str) -> np.ndarray:
        """The log-probabilities of `texts`, columns in the order of `label_names`; every text must be covered."""
        if sorted(self.label_names) != sorted(label_names):
            raise ValueError(f"{source}: soft labels for {self.label_names}, but the student learns {label_names}.")
        keys = [self.key(text) for text in texts]
        missing = [text for text, key in zip(texts, keys) if key not in self.logits]
        if missing:
            raise ValueError(
                f"{source}: no soft labels for {len(missing)} of {len(texts)} training texts "
                f"(e.g. {missing[0][:60]!r}); "
                "the file was written for other training data (another file, split or split seed)."
            )
        order = [self.label_names.index(name) for name in label_names]
        return np.stack([self.logits[key][order] for key in keys])


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
    augmentation: Augmentation | None = None,
    adjust: bool = False,
) -> tuple[Dataset, Augmentation]:
    """
    The encoded train split with the teacher's log-probabilities as `teacher_logits`, plus perturbed copies of each
    text (`Augmentation`) labelled by the teacher alone (their `labels` are the teacher's choice).

    The log-probabilities come from the `teacher` model (with the copies `augmentation` asks for), or from a
    `soft_labels` file written by `write_soft_labels` (with the copies it was written with). With `adjust`, the
    teacher's mistakes are corrected by `adjust_teacher` against the gold label of each text (for a copy: of the
    text it was made from), and copies keep that gold label.

    Returns:
        `tuple[Dataset, Augmentation]`: The training set and how its copies were made.
    """
    if soft_labels is not None:
        stored = SoftLabels.read(soft_labels)
        augmentation = stored.augmentation
    augmentation = augmentation or Augmentation()
    augmented = augmentation.apply(texts)
    if soft_labels is not None:
        all_logits = stored.lookup(texts + augmented, label_names, os.fspath(soft_labels))
    else:
        all_logits = teacher_logits(teacher, texts + augmented, label_names)
    copy_labels = all_logits[len(texts) :].argmax(axis=-1)
    if adjust:
        gold = np.asarray(encoded_train["labels"])
        copy_labels = np.repeat(gold, augmentation.copies)
        all_logits = adjust_teacher(all_logits, np.concatenate([gold, copy_labels]))
    train = encoded_train.add_column("teacher_logits", all_logits[: len(texts)].tolist())
    if not augmented:
        return train, augmentation
    extra = Dataset.from_dict(
        {
            **tokenizer(augmented, truncation=True, max_length=max_length),
            "labels": copy_labels.tolist(),
            "teacher_logits": all_logits[len(texts) :].tolist(),
        }
    )
    return concatenate_datasets([train, extra.cast(train.features)]), augmentation


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
