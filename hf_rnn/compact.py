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
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import SPECIAL_TOKENS_MAP_FILE
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_NAME

from .inference import TOKENIZER_FILES, load_classifier
from .model_card import CARD_FILENAME, CARD_FILES, MULTI_LABEL_CARD_FILES, RESULTS_FILENAME
from .onnx_model import is_onnx_dir
from .pretrained_embeddings import top_eigenvectors
from .vocabulary_pruning import CompactError, prune_vocabulary, read_texts

#: Storage dtypes of the embedding matrix (`embedding_dtype`).
EMBEDDING_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_PCA_DIMS = 128
#: What the PCA keeps most of (`pca_basis`; see `reduce_embeddings`).
PCA_BASES = ("first_layer", "embeddings")
DEFAULT_PCA_BASIS = "first_layer"
DEFAULT_EMBEDDING_DTYPE = "float16"
#: The summary of the compaction, written beside the model.
SUMMARY_FILENAME = "compact.json"
#: Tokenizer files copied as they are when the vocabulary is not pruned.
COPIED_TOKENIZER_FILES = (*TOKENIZER_FILES, SPECIAL_TOKENS_MAP_FILE)
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


def _directions(config) -> tuple[str, ...]:
    return ("", "_reverse") if config.bidirectional else ("",)


def _size(directory: Path) -> int:
    """Bytes of the files of a model directory that a user needs (what `hf-rnn push` would send, and the summary)."""
    names = (SAFE_WEIGHTS_NAME, CONFIG_NAME, "configuration_hf_rnn.py", "modeling_hf_rnn.py", *COPIED_TOKENIZER_FILES,
             *dict.fromkeys(CARD_FILES + MULTI_LABEL_CARD_FILES))  # fmt: skip
    return sum((directory / name).stat().st_size for name in names if (directory / name).is_file())


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
        tokenizer_files = prune_vocabulary(
            state, new_config, f"{prefix}.embeddings.weight", tokenizer, texts, model_dir
        )
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
            for name in COPIED_TOKENIZER_FILES:
                if name not in tokenizer_files and (model_dir / name).is_file():
                    shutil.copyfile(model_dir / name, staging / name)
        else:
            for name in COPIED_TOKENIZER_FILES:
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
