"""The NumPy reference RNN, which explains and checks [`RNNForSequenceClassification`].

- `hf_rnn.reference.numpy_rnn`: the model, its hand-derived backward pass, gradient clipping and Adam, in NumPy only.
- `hf_rnn.reference.convert`: weight exchange with [`RNNForSequenceClassification`] (`from_hf`, `to_hf`,
  `check_representable`); the only module here that imports torch, so it is not imported by this package.

The side-by-side training run of the two is `python scripts/compare_reference.py`.
"""

from .numpy_rnn import (
    PARAMETER_NAMES,
    Adam,
    ForwardCache,
    ManualRNN,
    clip_grad_norm,
    softmax_cross_entropy,
    train_step,
)

__all__ = [
    "PARAMETER_NAMES",
    "Adam",
    "ForwardCache",
    "ManualRNN",
    "clip_grad_norm",
    "softmax_cross_entropy",
    "train_step",
]
