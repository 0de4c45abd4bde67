"""Tokenizers trained with the `tokenizers` library on the training split only, wrapped for transformers."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN]  # ids 0 and 1, as `RecurrentConfig.pad_token_id` / `unk_token_id` expect
TOKENIZER_TYPES = ("word", "wordpiece")


def train_tokenizer(
    texts: Iterable[str],
    tokenizer_type: str = "word",
    vocab_size: int = 8000,
    min_frequency: int = 1,
    lowercase: bool = True,
    model_max_length: int = 256,
) -> PreTrainedTokenizerFast:
    """
    Train a tokenizer on `texts` (the training split, and nothing else) and wrap it as a `PreTrainedTokenizerFast`.

    Text is NFKC-normalised (and lowercased), split on whitespace and punctuation, then mapped to words
    (`tokenizer_type="word"`, unseen words become `[UNK]`) or WordPiece subwords (`"wordpiece"`). `[PAD]` has id 0
    and `[UNK]` id 1. The tokenizer returns only `input_ids` and `attention_mask`, pads on the right, and truncates
    to `model_max_length` when asked to.

    Args:
        texts (`Iterable[str]`): The training texts.
        tokenizer_type (`str`, *optional*, defaults to `"word"`): `"word"` or `"wordpiece"`.
        vocab_size (`int`, *optional*, defaults to 8000): Largest vocabulary, special tokens included.
        min_frequency (`int`, *optional*, defaults to 1): Least number of occurrences for a word to get its own id.
        lowercase (`bool`, *optional*, defaults to `True`): Lowercase before splitting.
        model_max_length (`int`, *optional*, defaults to 256): Length that `truncation=True` cuts to.

    Returns:
        `PreTrainedTokenizerFast`: Ready for `save_pretrained` and `AutoTokenizer.from_pretrained`.
    """
    if tokenizer_type not in TOKENIZER_TYPES:
        raise ValueError(f"`tokenizer_type` must be one of {TOKENIZER_TYPES}, got {tokenizer_type!r}.")
    if tokenizer_type == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
        trainer = trainers.WordLevelTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS
        )
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS
        )
        tokenizer.decoder = decoders.WordPiece()
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=model_max_length,
        padding_side="right",
        model_input_names=["input_ids", "attention_mask"],
    )
