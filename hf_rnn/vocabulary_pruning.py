"""
Vocabulary pruning of a saved classifier (the first step of `hf-rnn compact`; see `hf_rnn.compact`).

Only the embedding rows of the tokens that tokenizing a file of real text produces are kept, with the special tokens
and, for a WordPiece tokenizer, the single-character pieces of every character of the file. The ids are renumbered in
`tokenizer.json`, `tokenizer_config.json` and the configuration, so that every text of the file gets the same tokens
as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import PreTrainedConfig, PreTrainedTokenizerBase
from transformers.utils import CONFIG_NAME

from .data.loading import FILE_FORMATS, read_data_file
from .data.trec import decode_text
from .inference import TOKENIZER_CONFIG_FILE, TOKENIZER_FILE

STRING_DTYPES = ("string", "large_string")
#: Tokenizer models whose vocabulary pruning can renumber (a `vocab` of token -> id and an unknown token).
PRUNABLE_TOKENIZER_MODELS = ("WordPiece", "WordLevel")
#: Configuration attributes that hold token ids.
TOKEN_ID_ATTRIBUTES = ("pad_token_id", "unk_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id")


class CompactError(ValueError):
    """A compaction (this module's pruning or the rest of `hf_rnn.compact`) that cannot be done; one line."""


def read_texts(
    path: str | os.PathLike, text_column_names: Sequence[str] | None = None, delimiter: str = " "
) -> list[str]:
    """
    The texts of a file: for a data file (`.csv`, `.tsv`, `.json`, `.jsonl`, `.parquet`, Li & Roth `.label`) its text
    columns (`text_column_names` when it has them, else `text`, else every string column) joined by `delimiter`; for
    any other file its non-empty lines (UTF-8, else Latin-1).

    Raises:
        `CompactError`: The file is missing or holds no text. `hf_rnn.data.DataError`: A data file is unreadable.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CompactError(f"{path}: no such file to prune the vocabulary to.")
    if os.path.splitext(path)[1].lower() in FILE_FORMATS:
        rows = read_data_file(path).rows
        columns = [name for name in text_column_names or () if name in rows.column_names]
        if not columns:
            strings = [
                name for name, feature in rows.features.items() if getattr(feature, "dtype", "") in STRING_DTYPES
            ]
            columns = ["text"] if "text" in rows.column_names else strings
        texts = [delimiter.join(str(row[name] or "") for name in columns) for row in rows]
    else:
        texts = decode_text(Path(path).read_bytes()).splitlines()
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise CompactError(f"{path}: holds no text to prune the vocabulary to.")
    return texts


def _tokenizer_data(tokenizer: PreTrainedTokenizerBase) -> dict:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise CompactError(f"the tokenizer ({type(tokenizer).__name__}) has no {TOKENIZER_FILE}; it cannot be pruned.")
    return json.loads(backend.to_str())


def reachable_ids(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> list[int]:
    """
    The token ids to keep for `texts`: every id their tokenization produces (special tokens added as in inference),
    every special or added token, and for a WordPiece tokenizer the pieces of each single character of the texts
    (`c` and `##c`), so that a word outside `texts` made of those characters still splits into known pieces.
    """
    data = _tokenizer_data(tokenizer)
    model = data["model"]
    if model.get("type") not in PRUNABLE_TOKENIZER_MODELS:
        raise CompactError(
            f"vocabulary pruning needs a {' or '.join(PRUNABLE_TOKENIZER_MODELS)} tokenizer; this one is "
            f"{model.get('type')}."
        )
    kept = set()
    for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]:
        kept.update(ids)
    kept.update(tokenizer.all_special_ids)
    kept.update(token["id"] for token in data.get("added_tokens") or ())
    if model["type"] == "WordPiece":
        vocab, prefix = model["vocab"], model.get("continuing_subword_prefix") or "##"
        normalizer = tokenizer.backend_tokenizer.normalizer
        characters = set()
        for text in texts:
            characters.update(normalizer.normalize_str(text) if normalizer is not None else text)
        for character in characters:
            for piece in (character, prefix + character):
                if not character.isspace() and piece in vocab:
                    kept.add(vocab[piece])
    return sorted(kept)


def _remap_post_processor(processor: dict | None, new_id: dict[int, int]) -> None:
    """Renumber the special-token ids a `tokenizers` post-processor holds (in place)."""
    if not processor:
        return
    kind = processor.get("type")
    if kind == "Sequence":
        for inner in processor.get("processors") or ():
            _remap_post_processor(inner, new_id)
    elif kind == "TemplateProcessing":
        for special in (processor.get("special_tokens") or {}).values():
            special["ids"] = [new_id[index] for index in special["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for name in ("sep", "cls"):
            token, index = processor[name]
            processor[name] = [token, new_id[index]]
    elif kind != "ByteLevel":
        raise CompactError(f"vocabulary pruning cannot renumber a {kind} post-processor of {TOKENIZER_FILE}.")


def pruned_tokenizer_files(tokenizer: PreTrainedTokenizerBase, kept: Sequence[int], source: Path) -> dict[str, str]:
    """
    The contents of `tokenizer.json` and `tokenizer_config.json` for a vocabulary of the ids `kept` (old ids, in
    order), renumbered `0 .. len(kept) - 1` in that order.
    """
    new_id = {old: new for new, old in enumerate(kept)}
    data = _tokenizer_data(tokenizer)
    model = data["model"]
    vocab = {token: new_id[index] for token, index in model["vocab"].items() if index in new_id}
    if model.get("unk_token") is not None and model["unk_token"] not in vocab:
        raise CompactError(f"the unknown token {model['unk_token']!r} is not in the kept vocabulary.")
    model["vocab"] = dict(sorted(vocab.items(), key=lambda item: item[1]))
    for token in data.get("added_tokens") or ():
        token["id"] = new_id[token["id"]]
    _remap_post_processor(data.get("post_processor"), new_id)
    if data.get("padding") and data["padding"].get("pad_id") is not None:
        data["padding"]["pad_id"] = new_id[data["padding"]["pad_id"]]
    files = {TOKENIZER_FILE: json.dumps(data, ensure_ascii=False, indent=2) + "\n"}
    config_path = source / TOKENIZER_CONFIG_FILE
    if config_path.is_file():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if isinstance(config.get("added_tokens_decoder"), dict):
            config["added_tokens_decoder"] = {
                str(new_id[int(index)]): value for index, value in config["added_tokens_decoder"].items()
            }
        files[TOKENIZER_CONFIG_FILE] = json.dumps(config, ensure_ascii=False, indent=2) + "\n"
    return files


def prune_vocabulary(
    state: dict[str, torch.Tensor],
    config: PreTrainedConfig,
    embedding_key: str,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    source: Path,
) -> dict[str, str]:
    """
    Keep only the embedding rows `reachable_ids` finds for `texts`: `state[embedding_key]` and `config` (`vocab_size`
    and the token ids) are renumbered in place; returns the tokenizer files to write (`pruned_tokenizer_files`, with
    `source` the model directory).
    """
    kept = [index for index in reachable_ids(tokenizer, texts) if index < config.vocab_size]
    files = pruned_tokenizer_files(tokenizer, kept, source)
    new_id = {old: new for new, old in enumerate(kept)}
    state[embedding_key] = state[embedding_key][torch.tensor(kept)]
    config.vocab_size = len(kept)
    for name in TOKEN_ID_ATTRIBUTES:
        if getattr(config, name, None) is not None:
            if getattr(config, name) not in new_id:
                raise CompactError(f"{name} {getattr(config, name)} of {CONFIG_NAME} is not a token.")
            setattr(config, name, new_id[getattr(config, name)])
    return files
