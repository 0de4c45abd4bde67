"""
Make a saved hf_rnn classifier smaller without retraining, as a model directory of its own (`hf-rnn compact`).

`compact_model(model_dir, output_dir)` applies up to three steps, in this order, and writes the result in the format
`hf-rnn train` writes (`config.json`, `model.safetensors`, the two code files, the tokenizer and the card files), so
that `hf_rnn.inference.load_classifier`, `from_pretrained` and `pipeline` load it as they load the original:

1. **Vocabulary pruning** (`prune_vocabulary_to=FILE`, optional). Only the embedding rows of the tokens that
   tokenizing the texts of FILE produces are kept, with the special tokens and, for a WordPiece tokenizer, the
   single-character pieces of every character of FILE (so that a word FILE lacks is still cut into pieces rather than
   read as the unknown token). The ids are renumbered in `tokenizer.json` and `config.json` (`vocab_size` and the
   `*_token_id`s); every text of FILE gets the same tokens as before. Text outside FILE may meet more unknown tokens.
2. **PCA of the embedding matrix** (`pca_dims=k`), folded into the first recurrent layer so that nothing is
   retrained. With `mean` the mean row, each row `x` is stored as `k` coordinates `z` of `x - mean`:
   `pca_basis="embeddings"` takes the `k` principal directions `P` (`k x d`) of the rows, `z = P (x - mean)`, read as
   `x ~ mean + P^T z`: for each direction `weight_ih' = weight_ih P^T`, `bias_ih' = bias_ih + weight_ih mean` (exact
   for the reconstructed vectors). `pca_basis="first_layer"` (the default) takes the principal directions of what the
   layer computes from the rows, `W (x - mean)` with `W` the input weights of its directions stacked, and so keeps
   most of what the layer sees rather than most of the vectors; on the distilled TREC LSTM it loses far less (see
   `reduce_embeddings`). With `k = d` either reproduces the model up to float rounding.
3. **Embedding storage dtype** (`embedding_dtype="float16"`). The file holds the embedding matrix in float16 (half the
   bytes); `config.json` keeps `dtype: float32`, so loading upcasts it and the model computes in float32 as before.

The other layers are kept as they are, in float32.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_NAME

from .data.loading import FILE_FORMATS, read_data_file
from .inference import TOKENIZER_FILE, load_classifier
from .model_card import CARD_FILENAME, CARD_FILES, MULTI_LABEL_CARD_FILES, RESULTS_FILENAME
from .onnx_model import is_onnx_dir
from .pretrained_embeddings import top_eigenvectors

#: Storage dtypes of the embedding matrix (`embedding_dtype`).
EMBEDDING_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_PCA_DIMS = 128
#: What the PCA keeps most of (`pca_basis`; see `reduce_embeddings`).
PCA_BASES = ("first_layer", "embeddings")
DEFAULT_PCA_BASIS = "first_layer"
DEFAULT_EMBEDDING_DTYPE = "float16"
#: The summary of the compaction, written beside the model.
SUMMARY_FILENAME = "compact.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
#: Tokenizer files copied as they are when the vocabulary is not pruned.
TOKENIZER_FILES = (TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, "special_tokens_map.json")
STRING_DTYPES = ("string", "large_string")
#: Tokenizer models whose vocabulary pruning can renumber (a `vocab` of token -> id and an unknown token).
PRUNABLE_TOKENIZER_MODELS = ("WordPiece", "WordLevel")
#: Texts whose logits are compared between the original and the compact model when no pruning file is given.
PROBE_TEXTS = (
    "Who wrote Hamlet ?",
    "What is the capital of Australia ?",
    "How many feet are in a mile ?",
    "Why is the sky blue ?",
    "What does NASA stand for ?",
    "When did the Berlin Wall fall ?",
    "What kind of animal is a whale ?",
    "?",
)
#: Most texts of the pruning file used to compare the logits of the original and the compact model.
MAX_PROBE_TEXTS = 1000


class CompactError(ValueError):
    """A compaction that cannot be done; the message is one line."""


def _directions(config) -> tuple[str, ...]:
    return ("", "_reverse") if config.bidirectional else ("",)


def _size(directory: Path) -> int:
    """Bytes of the files of a model directory that a user needs (what `hf-rnn push` would send, and the summary)."""
    names = (SAFE_WEIGHTS_NAME, CONFIG_NAME, "configuration_hf_rnn.py", "modeling_hf_rnn.py", *TOKENIZER_FILES,
             *dict.fromkeys(CARD_FILES + MULTI_LABEL_CARD_FILES))  # fmt: skip
    return sum((directory / name).stat().st_size for name in names if (directory / name).is_file())


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
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        texts = text.splitlines()
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


def reduce_embeddings(state: dict[str, torch.Tensor], config, prefix: str, dims: int, basis: str) -> float:
    """
    Reduce the embedding matrix of a classifier's state dict (in place) to `dims` columns by PCA and fold the
    projection into every direction of the first recurrent layer, so that no retraining is needed; return the share
    of the variance kept. With `mean` the mean row and `xc = x - mean`:

    - `basis="embeddings"`: `P` (`dims x d`) holds the principal directions of the rows; a row is stored as `z = P xc`
      and read as `x ~ mean + P^T z`: `weight_ih' = weight_ih P^T`, `bias_ih' = bias_ih + weight_ih mean`.
    - `basis="first_layer"`: the PCA is of what the first layer computes from the rows, `W xc` with `W` the input
      weights of all its directions stacked (`R x d`): `B` (`R x dims`) holds its principal directions, a row is
      stored as `z = B^T W xc` and the layer reads `W x ~ W mean + B z`: `weight_ih' = B` (each direction's rows),
      `bias_ih' = bias_ih + weight_ih mean`. This keeps most of what the layer sees rather than most of the vectors.

    Either way `dims = d` reproduces the model up to float rounding.
    """
    embedding_key = f"{prefix}.embeddings.weight"
    rows = state[embedding_key].to(torch.float64)
    mean = rows.mean(dim=0)
    centered = rows - mean
    covariance = centered.T @ centered  # d x d, a full basis whatever the number of rows
    keys = [(f"{prefix}.layers.0.weight_ih_l0{suffix}", f"{prefix}.layers.0.bias_ih_l0{suffix}")
            for suffix in _directions(config)]  # fmt: skip
    if any(bias_key not in state for _, bias_key in keys):
        raise CompactError("the first recurrent layer has no input bias to fold the embedding mean into.")
    weights = [state[weight_key].to(torch.float64) for weight_key, _ in keys]
    if basis == "embeddings":
        components, explained = top_eigenvectors(covariance, dims)  # d x dims
        projection = components.T  # z = projection @ xc
        folded = [weight @ components for weight in weights]
    else:
        stacked = torch.cat(weights)  # R x d
        if dims > stacked.shape[0]:
            raise CompactError(
                f"pca_dims {dims} is more than the {stacked.shape[0]} input units of the first recurrent layer "
                f"(pca_basis first_layer); at most {stacked.shape[0]}."
            )
        components, explained = top_eigenvectors(stacked @ covariance @ stacked.T, dims)  # R x dims
        projection = components.T @ stacked
        folded = list(components.split([weight.shape[0] for weight in weights]))
    state[embedding_key] = (centered @ projection.T).to(state[embedding_key].dtype)
    for (weight_key, bias_key), weight, new_weight in zip(keys, weights, folded):
        state[bias_key] = (state[bias_key].to(torch.float64) + weight @ mean).to(state[bias_key].dtype)
        state[weight_key] = new_weight.contiguous().to(state[weight_key].dtype)
    return explained


def _logits(model, tokenizer, texts: Sequence[str]) -> torch.Tensor:
    with torch.inference_mode():
        batch = tokenizer(list(texts), padding=True, return_tensors="pt")
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()


def _card_section(summary: dict) -> str:
    steps = []
    if summary["vocabulary_pruned_to"] is not None:
        steps.append(
            f"the vocabulary pruned to the {summary['vocab_size']:,} tokens (of {summary['original_vocab_size']:,}) "
            f"that `{os.path.basename(summary['vocabulary_pruned_to'])}` reaches"
        )
    if summary["pca_dims"]:
        of_what = "their variance" if summary["pca_basis"] == "embeddings" else "the first layer's input variance"
        steps.append(
            f"the embeddings reduced by PCA from {summary['original_embedding_dim']} to {summary['pca_dims']} "
            f"dimensions ({summary['pca_explained_variance']:.1%} of {of_what}), folded into the first layer"
        )
    if summary["embedding_dtype"] != "float32":
        steps.append(f"the embedding matrix stored in {summary['embedding_dtype']} (computed in float32)")
    done = "; ".join(steps) if steps else "no step (a plain copy)"
    megabytes = summary["weights_bytes"] / 1e6
    was = summary["original_weights_bytes"] / 1e6
    return f"""

## Compact model

This directory holds a compacted copy of the model, made by `hf-rnn compact` without retraining: {done}.
`model.safetensors` takes {megabytes:.1f} MB (the original {was:.1f} MB). The results above were measured on the
original model; `{SUMMARY_FILENAME}` records the compaction.
"""


def _update_results(path: Path, model: PreTrainedModel, tokenizer_size: int) -> None:
    """Point the card data (`results.json`) at the compact architecture; its scores stay the original model's."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(content, dict):
        return
    config = model.config
    content["num_parameters"] = model.num_parameters()
    if isinstance(content.get("hyperparameters"), dict):
        for name in ("vocab_size", "embedding_dim", "pad_token_id", "unk_token_id"):
            if name in content["hyperparameters"]:
                content["hyperparameters"][name] = getattr(config, name)
    if isinstance(content.get("tokenizer"), dict) and "vocabulary_size" in content["tokenizer"]:
        content["tokenizer"]["vocabulary_size"] = tokenizer_size
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def compact_model(
    model_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    pca_dims: int | None = DEFAULT_PCA_DIMS,
    embedding_dtype: str = DEFAULT_EMBEDDING_DTYPE,
    prune_vocabulary_to: str | os.PathLike | None = None,
    pca_basis: str = DEFAULT_PCA_BASIS,
) -> dict[str, object]:
    """
    Write a smaller copy of the classifier saved in `model_dir` to `output_dir` (see the module's description).

    Args:
        model_dir: A directory written by `hf-rnn train` (or `save_pretrained` of an hf_rnn model and its tokenizer).
        output_dir: Where to write; created if needed; must not be `model_dir`.
        pca_dims: Width of the embeddings after PCA; `None` or 0 keeps the width (no PCA). At most the current width.
        embedding_dtype: `"float16"`, `"bfloat16"` or `"float32"`: how the file stores the embedding matrix.
        prune_vocabulary_to: A file of real text (any data file `hf-rnn train` reads, or plain lines); `None` keeps the
            vocabulary.
        pca_basis: `"first_layer"` (PCA of the first layer's input projections of the embeddings; loses far less) or
            `"embeddings"` (PCA of the embedding vectors); see `reduce_embeddings`.

    Returns:
        A summary (also written to `output_dir/compact.json`): the steps' settings, `vocab_size`, `embedding_dim`,
        `pca_explained_variance`, `weights_bytes` and `directory_bytes` before and after, and the agreement with the
        original model on probe texts (the pruning file's texts, else a few questions): `max_abs_logit_difference` and
        `probe_agreement` (share of texts with the same predicted label).

    Raises:
        `CompactError`: Options that cannot apply to this model (one line). `hf_rnn.inference.ModelLoadError`:
        `model_dir` is not a loadable hf_rnn model.
    """
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if embedding_dtype not in EMBEDDING_DTYPES:
        raise CompactError(f"embedding_dtype must be one of {', '.join(EMBEDDING_DTYPES)}, got {embedding_dtype!r}.")
    pca_dims = pca_dims or 0
    if pca_dims < 0:
        raise CompactError(f"pca_dims must be positive (or 0 for no PCA), got {pca_dims}.")
    if pca_basis not in PCA_BASES:
        raise CompactError(f"pca_basis must be one of {', '.join(PCA_BASES)}, got {pca_basis!r}.")
    if is_onnx_dir(model_dir):
        raise CompactError(f"{model_dir} is an exported (ONNX) model; compact the PyTorch model directory.")
    if output_dir.exists() and output_dir.resolve() == model_dir.resolve():
        raise CompactError(f"output_dir {output_dir} is the model directory; choose another one.")
    if prune_vocabulary_to is not None and not os.path.isfile(prune_vocabulary_to):
        raise CompactError(f"{os.fspath(prune_vocabulary_to)}: no such file to prune the vocabulary to.")
    try:  # the width, when config.json says it, is checked before the weights are read
        width = int(json.loads((model_dir / CONFIG_NAME).read_text(encoding="utf-8"))["embedding_dim"])
    except (OSError, ValueError, KeyError, TypeError):
        width = None
    if width is not None and pca_dims > width:
        raise CompactError(f"pca_dims {pca_dims} is larger than the embedding width {width} of {model_dir}.")
    model, tokenizer = load_classifier(model_dir)
    if not isinstance(model, PreTrainedModel):
        raise CompactError(f"{model_dir} is not a PyTorch hf_rnn model directory.")
    model = model.float().eval()
    config = model.config
    width = config.embedding_dim
    if pca_dims > width:
        raise CompactError(f"pca_dims {pca_dims} is larger than the embedding width {width} of {model_dir}.")

    prefix = model.base_model_prefix
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    new_config = copy.deepcopy(config)
    summary: dict[str, object] = {
        "output_dir": os.fspath(output_dir),
        "vocabulary_pruned_to": os.fspath(prune_vocabulary_to) if prune_vocabulary_to is not None else None,
        "pca_dims": pca_dims or None,
        "pca_basis": pca_basis if pca_dims else None,
        "embedding_dtype": embedding_dtype,
        "original_vocab_size": config.vocab_size,
        "original_embedding_dim": width,
    }
    tokenizer_files: dict[str, str] = {}
    probe = list(PROBE_TEXTS)
    if prune_vocabulary_to is not None:
        columns = getattr(config, "text_column_names", None)
        texts = read_texts(prune_vocabulary_to, columns, getattr(config, "text_column_delimiter", " "))
        kept = reachable_ids(tokenizer, texts)
        kept = [index for index in kept if index < config.vocab_size]
        tokenizer_files = pruned_tokenizer_files(tokenizer, kept, model_dir)
        new_id = {old: new for new, old in enumerate(kept)}
        embedding_key = f"{prefix}.embeddings.weight"
        state[embedding_key] = state[embedding_key][torch.tensor(kept)]
        new_config.vocab_size = len(kept)
        for name in ("pad_token_id", "unk_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id"):
            if getattr(new_config, name, None) is not None:
                if getattr(new_config, name) not in new_id:
                    raise CompactError(f"{name} {getattr(new_config, name)} of {CONFIG_NAME} is not a token.")
                setattr(new_config, name, new_id[getattr(new_config, name)])
        probe = texts[:MAX_PROBE_TEXTS]
    summary["vocab_size"] = new_config.vocab_size

    explained = None
    if pca_dims:
        explained = reduce_embeddings(state, config, prefix, pca_dims, pca_basis)
        new_config.embedding_dim = pca_dims
    summary["pca_explained_variance"] = explained
    summary["embedding_dim"] = new_config.embedding_dim

    compact = type(model)(new_config)
    compact.load_state_dict(state, strict=True)
    compact.eval()
    saved_state = compact.state_dict()
    embedding_key = f"{prefix}.embeddings.weight"
    saved_state[embedding_key] = saved_state[embedding_key].to(EMBEDDING_DTYPES[embedding_dtype])

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".compact-") as scratch:
        staging = Path(scratch)
        # `state_dict` keeps the model (and so `dtype` in config.json) float32: loading upcasts the embedding.
        compact.save_pretrained(staging, state_dict=saved_state)
        if tokenizer_files:
            for name, content in tokenizer_files.items():
                (staging / name).write_text(content, encoding="utf-8")
            for name in TOKENIZER_FILES:
                if name not in tokenizer_files and (model_dir / name).is_file():
                    shutil.copyfile(model_dir / name, staging / name)
        else:
            for name in TOKENIZER_FILES:
                if (model_dir / name).is_file():
                    shutil.copyfile(model_dir / name, staging / name)
        for name in dict.fromkeys(CARD_FILES + MULTI_LABEL_CARD_FILES):
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, staging / name)

        loaded, loaded_tokenizer = load_classifier(staging)  # what users will get: checked before it is kept
        if loaded_tokenizer.pad_token_id != new_config.pad_token_id:
            raise CompactError("the pruned tokenizer does not agree with the compact model's padding id.")
        expected, found = _logits(model, tokenizer, probe), _logits(loaded, loaded_tokenizer, probe)
        summary["max_abs_logit_difference"] = float((expected - found).abs().max())
        summary["probe_agreement"] = float((expected.argmax(-1) == found.argmax(-1)).double().mean())
        summary["probe_texts"] = len(probe)
        summary["original_weights_bytes"] = (model_dir / SAFE_WEIGHTS_NAME).stat().st_size
        summary["weights_bytes"] = (staging / SAFE_WEIGHTS_NAME).stat().st_size
        if (staging / RESULTS_FILENAME).is_file():
            _update_results(staging / RESULTS_FILENAME, loaded, len(loaded_tokenizer))
        if (staging / CARD_FILENAME).is_file():
            card = staging / CARD_FILENAME
            card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + _card_section(summary), encoding="utf-8")
        summary["original_directory_bytes"] = _size(model_dir)
        summary["directory_bytes"] = _size(staging)
        (staging / SUMMARY_FILENAME).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        names = sorted(os.listdir(staging), key=lambda name: name == CONFIG_NAME)  # config.json last
        for name in names:
            os.replace(staging / name, output_dir / name)
    return summary
