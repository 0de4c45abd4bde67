"""Weight exchange between the NumPy reference RNN ([`ManualRNN`]) and [`RNNForSequenceClassification`].

This is the one module of `hf_rnn.reference` that touches torch. It imports the NumPy RNN and the library's
configuration and modeling modules, nothing of the training stack; `numpy_rnn` never imports it.

Example:

```python
>>> from hf_rnn import RNNConfig, RNNForSequenceClassification
>>> from hf_rnn.reference.convert import from_hf, to_hf

>>> model = RNNForSequenceClassification(RNNConfig(vocab_size=100, bidirectional=False, pooling="last"))
>>> manual = from_hf(model)  # copies of the weights, as NumPy arrays in the model's dtype
>>> rebuilt = to_hf(manual, id2label=model.config.id2label, label2id=model.config.label2id)
```
"""

from __future__ import annotations

import numpy as np
import torch

from ..configuration_hf_rnn import RNNConfig
from ..modeling_hf_rnn import RNNForSequenceClassification
from .numpy_rnn import ManualRNN

#: NumPy RNN parameter name -> name in the library model's state dict.
HF_NAMES = {
    "E": "encoder.embeddings.weight",
    "U": "encoder.layers.0.weight_ih_l0",
    "W": "encoder.layers.0.weight_hh_l0",
    "b_ih": "encoder.layers.0.bias_ih_l0",
    "b_hh": "encoder.layers.0.bias_hh_l0",
    "V": "classifier.weight",
    "c": "classifier.bias",
}

#: The config options the NumPy RNN computes, and the one value of each it supports.
REPRESENTABLE_OPTIONS = {"num_layers": 1, "bidirectional": False, "nonlinearity": "tanh", "pooling": "last"}


def check_representable(model: torch.nn.Module) -> None:
    """
    Check that the NumPy RNN computes the same function as `model` (one unidirectional tanh layer, last-state pooling,
    single-label cross-entropy).

    Raises:
        `TypeError`: `model` is not an [`RNNForSequenceClassification`] (a GRU or LSTM, say).
        `ValueError`: Its config has an option the NumPy RNN cannot represent; the message names the first one.
    """
    if not isinstance(model, RNNForSequenceClassification):
        raise TypeError(f"the manual RNN mirrors RNNForSequenceClassification only, got {type(model).__name__}.")
    config = model.config
    for name, supported in REPRESENTABLE_OPTIONS.items():
        value = getattr(config, name)
        if value != supported:
            raise ValueError(
                f"the manual RNN cannot represent {name}={value!r}; it supports {name}={supported!r} only."
            )
    if config.problem_type not in (None, "single_label_classification"):
        raise ValueError(
            f"the manual RNN cannot represent problem_type={config.problem_type!r}; "
            "it trains with single-label cross-entropy only."
        )


def from_hf(model: RNNForSequenceClassification, dtype: np.dtype | type | None = None) -> ManualRNN:
    """
    A [`ManualRNN`] holding copies of the weights of a single-layer, unidirectional, tanh, `pooling="last"`
    [`RNNForSequenceClassification`]. Dropout is not represented: the two agree in eval mode, or with no dropout.

    Args:
        model ([`RNNForSequenceClassification`]): The library model; its weights are copied, not shared.
        dtype (`np.dtype`, *optional*): `np.float32` or `np.float64`; defaults to the model's own dtype.

    Raises:
        `TypeError`, `ValueError`: See [`check_representable`].
    """
    check_representable(model)
    state = model.state_dict()
    params = {
        name: np.array(state[hf_name].detach().cpu().numpy(), dtype=dtype, copy=True)
        for name, hf_name in HF_NAMES.items()
    }
    return ManualRNN(params, pad_token_id=model.config.pad_token_id)


def to_hf(manual: ManualRNN, **config_kwargs) -> RNNForSequenceClassification:
    """
    A float32 [`RNNForSequenceClassification`] (in eval mode) holding the weights of `manual`.

    Its config is sized from the weights, with one unidirectional tanh layer, `pooling="last"`, no dropout, no label
    smoothing and no adversarial term (the NumPy RNN's plain cross-entropy), whatever the [`RNNConfig`] defaults.

    Args:
        manual ([`ManualRNN`]): The NumPy RNN; its weights are copied.
        config_kwargs: Further [`RNNConfig`] options, e.g. `id2label`, `label2id`, `unk_token_id`.
    """
    params = manual.params
    vocab_size, embedding_dim = params["E"].shape
    options = {
        **REPRESENTABLE_OPTIONS,
        "embedding_dropout": 0.0,
        "word_dropout": 0.0,
        "rnn_dropout": 0.0,
        "recurrent_weight_dropout": 0.0,
        "classifier_dropout": 0.0,
        "label_smoothing": 0.0,
        "adversarial_epsilon": 0.0,
        **config_kwargs,
    }
    config = RNNConfig(
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        hidden_size=params["W"].shape[0],
        num_labels=params["V"].shape[0],
        pad_token_id=manual.pad_token_id,
        **options,
    )
    model = RNNForSequenceClassification(config)
    check_representable(model)  # config_kwargs may not override the representable options
    state = {
        hf_name: torch.from_numpy(np.asarray(params[name], dtype=np.float32)) for name, hf_name in HF_NAMES.items()
    }
    model.load_state_dict(state, strict=True)
    return model.eval()
