"""Start a recurrent classifier from the input embeddings (and tokenizer) of any Hugging Face model."""

from __future__ import annotations

import os

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from .modeling_hf_rnn import RecurrentForSequenceClassification


def load_input_embeddings(model_name_or_path: str | os.PathLike) -> tuple[PreTrainedTokenizerBase, torch.Tensor]:
    """
    The tokenizer and the input-embedding matrix of a Hugging Face model (e.g. a BERT or MiniLM directory).

    Only the embedding matrix is kept; the rest of the model is dropped. The tokenizer is told to return only
    `input_ids` and `attention_mask`, which is all a recurrent model reads.

    Returns:
        `tuple[PreTrainedTokenizerBase, torch.Tensor]`: The tokenizer and a `(vocab_size, dim)` float32 matrix.
    """
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
