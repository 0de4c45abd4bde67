r"""The NumPy reference RNN: a simple (Elman) recurrent text classifier written out in NumPy, forward and backward.

It explains and checks [`RNNForSequenceClassification`] in its one configuration without extras (single layer,
unidirectional, tanh, `pooling="last"`, no dropout): the same function, with the matrices of the lesson and every
gradient derived by hand. This module imports NumPy and the standard library only (nothing of torch, transformers or
the rest of `hf_rnn`), so it can be read, copied and run on its own. The weight exchange with the library lives in
`hf_rnn.reference.convert` ([`~convert.from_hf`], [`~convert.to_hf`]), which imports this module, never the reverse.

Notation, for one batch: B rows, T time steps, vocabulary size N, embedding size D, hidden size H, C classes. Token ids
`ids` (B, T) and the attention mask `m` (B, T): 1 for a real token, 0 for padding (left, right or anywhere).

Parameters (library names in brackets):

    E (N, D)    token embeddings            [encoder.embeddings.weight], row `pad_token_id` kept at zero
    U (H, D)    input to hidden             [encoder.layers.0.weight_ih_l0]
    W (H, H)    hidden to hidden            [encoder.layers.0.weight_hh_l0]
    b_ih, b_hh (H)  recurrent biases        [encoder.layers.0.bias_ih_l0, bias_hh_l0]
    V (C, H)    hidden to logits            [classifier.weight]
    c (C)       logit bias                  [classifier.bias]

Forward, for every row, from h_0 = 0:

    x_t = E[ids_t]                                        embedding lookup
    a_t = U x_t + b_ih + W h_{t-1} + b_hh                 pre-activation
    h_t = m_t tanh(a_t) + (1 - m_t) h_{t-1}               a padding step copies the state unchanged
    z   = V h_T + c                                       logits of h_T, the state after the last real token
    p   = softmax(z),   L = -(1/B) sum_rows log p_y       mean cross-entropy

Backward (backpropagation through time), with g_t = dL/dh_t, from t = T down to 1:

    dL/dz    = (p - onehot(y)) / B
    dL/dV    = sum_rows dL/dz h_T^T          dL/dc = sum_rows dL/dz          g_T = V^T dL/dz
    delta_t  = dL/da_t = m_t (1 - h_t^2) * g_t                 (h_t = tanh(a_t) wherever m_t = 1)
    g_{t-1}  = W^T delta_t + (1 - m_t) g_t                     (through W, and through the copy at padding)
    dL/dW    = sum_{rows, t} delta_t h_{t-1}^T
    dL/dU    = sum_{rows, t} delta_t x_t^T
    dL/db_ih = dL/db_hh = sum_{rows, t} delta_t
    dL/dE[k] = sum_{rows, t: ids_t = k} U^T delta_t            (zero for the padding row, like `nn.Embedding`)

Padding never changes a state (h_t = h_{t-1}) and never contributes a gradient (delta_t = 0), on whichever side it is.
A row without any real token reads its first token, as the library does. Only the sums over rows and time steps are
batched matrix products; the one loop left is over time, which the recurrence makes sequential.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]

#: The parameters in the order of the library's `named_parameters()`.
PARAMETER_NAMES = ("E", "U", "W", "b_ih", "b_hh", "V", "c")


@dataclass
class ForwardCache:
    """What the forward pass keeps for the backward pass, time-major (the time step first)."""

    ids: np.ndarray  # (T, B) token ids
    mask: np.ndarray  # (T, B, 1) m_t, 1.0 or 0.0 in the model's dtype
    inputs: np.ndarray  # (T, B, D) x_t
    states: np.ndarray  # (T + 1, B, H) h_0 ... h_T


def _effective_inputs(
    input_ids: np.ndarray, attention_mask: np.ndarray | None, pad_token_id: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Time-major ids and boolean mask; a row without real tokens (or an empty batch) reads one pad token."""
    input_ids = np.asarray(input_ids)
    batch_size, length = input_ids.shape
    mask = np.ones((batch_size, length), dtype=bool) if attention_mask is None else np.asarray(attention_mask) != 0
    if mask.shape != input_ids.shape:
        raise ValueError(f"`attention_mask` has shape {mask.shape}, expected {input_ids.shape}.")
    if length == 0:
        return np.full((1, batch_size), pad_token_id or 0, dtype=np.int64), np.ones((1, batch_size), dtype=bool)
    empty = ~mask.any(axis=1)
    if empty.any():
        mask, input_ids = mask.copy(), input_ids.copy()
        mask[empty, 0] = True
        input_ids[empty, 0] = pad_token_id or 0
    return np.ascontiguousarray(input_ids.T), np.ascontiguousarray(mask.T)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    r"""
    Mean cross-entropy of `logits` (B, C) against class ids `labels` (B,), and its gradient.

    `L = -(1/B) sum_i log softmax(z_i)[y_i]` with a max-shifted log-sum-exp; `dL/dz = (softmax(z) - onehot(y)) / B`.

    Returns:
        `tuple[float, np.ndarray]`: The loss and `dL/dlogits` of shape (B, C).
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    grad = exp / total
    grad[rows, labels] -= 1.0
    grad /= len(labels)
    return loss, grad


def _scatter_rows(ids: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """`out[k] = sum_{i: ids_i = k} rows_i` (the embedding gradient), by sorting the ids and summing each run."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    out = np.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


class ManualRNN:
    r"""
    A single-layer tanh RNN classifier with last-state pooling, in NumPy (see the module docstring for the equations).

    Args:
        params (`dict[str, np.ndarray]`):
            `E`, `U`, `W`, `b_ih`, `b_hh`, `V` and `c`, all of one floating dtype (`float64` or `float32`); kept by
            reference, so an optimizer updating them in place updates the model.
        pad_token_id (`int`, *optional*, defaults to 0):
            Row of `E` that stays zero and gets no gradient (`None`: no such row).

    Example:

    ```python
    >>> import numpy as np
    >>> from hf_rnn.reference.numpy_rnn import Adam, ManualRNN

    >>> model = ManualRNN.initialise(vocab_size=100, embedding_dim=16, hidden_size=32, num_labels=6)
    >>> input_ids, attention_mask = np.array([[5, 7, 9], [0, 4, 8]]), np.array([[1, 1, 1], [0, 1, 1]])
    >>> loss, grads = model.loss_and_gradients(input_ids, attention_mask, labels=np.array([2, 0]))
    >>> Adam(model.params, lr=2e-3).step(grads)
    ```"""

    def __init__(self, params: Params, pad_token_id: int | None = 0):
        missing = set(PARAMETER_NAMES) - set(params)
        if missing:
            raise ValueError(f"missing parameters: {sorted(missing)}.")
        dtypes = {params[name].dtype for name in PARAMETER_NAMES}
        if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
            raise ValueError(f"parameters must all be float32 or all float64, got {sorted(map(str, dtypes))}.")
        self.params = {name: params[name] for name in PARAMETER_NAMES}
        self.pad_token_id = pad_token_id

    @classmethod
    def initialise(
        cls,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_labels: int,
        pad_token_id: int | None = 0,
        initializer_range: float = 0.1,
        seed: int = 0,
        dtype: np.dtype | type = np.float64,
    ) -> ManualRNN:
        """
        A new model: `E` and `V` drawn from N(0, `initializer_range`^2) (the padding row of `E` zero, `c` zero), and
        `U`, `W`, `b_ih`, `b_hh` from U(-1/sqrt(H), 1/sqrt(H)) like `torch.nn.RNN`.
        """
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(hidden_size)
        params = {
            "E": rng.normal(0.0, initializer_range, (vocab_size, embedding_dim)),
            "U": rng.uniform(-bound, bound, (hidden_size, embedding_dim)),
            "W": rng.uniform(-bound, bound, (hidden_size, hidden_size)),
            "b_ih": rng.uniform(-bound, bound, hidden_size),
            "b_hh": rng.uniform(-bound, bound, hidden_size),
            "V": rng.normal(0.0, initializer_range, (num_labels, hidden_size)),
            "c": np.zeros(num_labels),
        }
        if pad_token_id is not None:
            params["E"][pad_token_id] = 0.0
        return cls({name: value.astype(dtype) for name, value in params.items()}, pad_token_id)

    @property
    def dtype(self) -> np.dtype:
        """The floating dtype of the parameters and of every computation."""
        return self.params["W"].dtype

    def forward(
        self, input_ids: np.ndarray, attention_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, ForwardCache]:
        r"""
        Logits of a padded batch: `a_t = U x_t + b_ih + W h_{t-1} + b_hh`, `h_t = m_t tanh(a_t) + (1 - m_t) h_{t-1}`,
        `z = V h_T + c`. The input projection `U x_t + b_ih + b_hh` of all steps is one matrix product; the loop over
        time does the rest.

        Args:
            input_ids (`np.ndarray` of shape `(batch_size, sequence_length)`): Token ids.
            attention_mask (`np.ndarray` of the same shape, *optional*): 1 for real tokens, 0 for padding.

        Returns:
            `tuple[np.ndarray, ForwardCache]`: Logits of shape `(batch_size, num_labels)` and the cache for
            [`~ManualRNN.backward`].
        """
        p = self.params
        ids, mask = _effective_inputs(input_ids, attention_mask, self.pad_token_id)
        inputs = p["E"][ids]  # (T, B, D)
        projected = inputs @ p["U"].T + (p["b_ih"] + p["b_hh"])  # (T, B, H), every step at once
        states = np.zeros((ids.shape[0] + 1, ids.shape[1], p["W"].shape[0]), dtype=self.dtype)
        w_t = p["W"].T
        for t in range(ids.shape[0]):
            candidate = np.tanh(projected[t] + states[t] @ w_t)
            np.copyto(states[t + 1], np.where(mask[t][:, None], candidate, states[t]))
        logits = states[-1] @ p["V"].T + p["c"]
        return logits, ForwardCache(ids, mask[:, :, None].astype(self.dtype), inputs, states)

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray | None = None) -> np.ndarray:
        """Logits of shape `(batch_size, num_labels)` of a padded batch (see [`~ManualRNN.forward`])."""
        return self.forward(input_ids, attention_mask)[0]

    def backward(self, cache: ForwardCache, grad_logits: np.ndarray) -> Params:
        r"""
        Gradients of every parameter by backpropagation through time, from `dL/dz` (B, C).

        The loop over time computes only `delta_t = m_t (1 - h_t^2) g_t` and `g_{t-1} = W^T delta_t + (1 - m_t) g_t`;
        the sums over rows and steps (`dL/dW`, `dL/dU`, the biases, the embedding rows) are then one matrix product or
        reduction each, over all steps together.

        Returns:
            `dict[str, np.ndarray]`: `dL/dp` for every parameter `p`, same names and shapes as `params`.
        """
        p = self.params
        length, batch_size, hidden_size = cache.states.shape[0] - 1, cache.ids.shape[1], p["W"].shape[0]
        grad_logits = grad_logits.astype(self.dtype, copy=False)
        last = cache.states[-1]
        grads = {"V": grad_logits.T @ last, "c": grad_logits.sum(axis=0)}
        gain = cache.mask * (1.0 - cache.states[1:] ** 2)  # dh_t/da_t along real steps, 0 at padding
        keep = 1.0 - cache.mask  # padding passes g_t on unchanged
        deltas = np.empty((length, batch_size, hidden_size), dtype=self.dtype)
        g = grad_logits @ p["V"]  # g_T
        for t in range(length - 1, -1, -1):
            np.multiply(g, gain[t], out=deltas[t])
            g = deltas[t] @ p["W"] + keep[t] * g
        flat_deltas = deltas.reshape(-1, hidden_size)
        grads["W"] = flat_deltas.T @ cache.states[:-1].reshape(-1, hidden_size)
        grads["U"] = flat_deltas.T @ cache.inputs.reshape(length * batch_size, -1)
        grads["b_ih"] = flat_deltas.sum(axis=0)
        grads["b_hh"] = grads["b_ih"].copy()
        grads["E"] = _scatter_rows(cache.ids.reshape(-1), flat_deltas @ p["U"], p["E"].shape[0])
        if self.pad_token_id is not None:
            grads["E"][self.pad_token_id] = 0.0
        return {name: grads[name] for name in PARAMETER_NAMES}

    def loss_and_gradients(
        self, input_ids: np.ndarray, attention_mask: np.ndarray | None, labels: np.ndarray
    ) -> tuple[float, Params]:
        """Mean cross-entropy of a batch and the gradient of every parameter (forward, loss, backward)."""
        logits, cache = self.forward(input_ids, attention_mask)
        loss, grad_logits = softmax_cross_entropy(logits, np.asarray(labels))
        return loss, self.backward(cache, grad_logits)


def clip_grad_norm(grads: Params, max_norm: float) -> float:
    r"""
    Scale all gradients in place by `min(1, max_norm / (||g|| + 1e-6))`, where `||g||` is the global 2-norm over every
    gradient, exactly as `torch.nn.utils.clip_grad_norm_`.

    Returns:
        `float`: The global norm before clipping.
    """
    norms = np.array([np.linalg.norm(grad.ravel()) for grad in grads.values()])
    total = float(np.linalg.norm(norms))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for grad in grads.values():
            grad *= scale
    return total


class Adam:
    r"""
    Adam with the semantics and defaults of `torch.optim.Adam` (no AMSGrad). At step k, for every parameter p:

        g   = dL/dp + weight_decay p                      (L2 penalty added to the gradient, as torch's Adam)
        m   = m + (1 - beta1) (g - m)                     first moment (torch's `lerp`)
        v   = beta2 v + (1 - beta2) g^2                   second moment
        p   = p - lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)

    Args:
        params (`dict[str, np.ndarray]`): The arrays to update in place (e.g. `ManualRNN.params`).
        lr (`float`, *optional*, defaults to 1e-3): Learning rate.
        betas (`tuple[float, float]`, *optional*, defaults to `(0.9, 0.999)`): Decay rates of the two moments.
        eps (`float`, *optional*, defaults to 1e-8): Added to the bias-corrected root of the second moment.
        weight_decay (`float`, *optional*, defaults to 0.0): L2 penalty coefficient.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.params = params
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.exp_avg = {name: np.zeros_like(value) for name, value in params.items()}
        self.exp_avg_sq = {name: np.zeros_like(value) for name, value in params.items()}
        self._scratch = {name: np.empty_like(value) for name, value in params.items()}
        self.steps = 0

    def step(self, grads: Params) -> None:
        """
        Update every parameter in place from its gradient in `grads`. Every operation writes into preallocated
        arrays: on the embedding matrix, temporaries would cost more than the arithmetic.
        """
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1**self.steps)
        correction2_sqrt = math.sqrt(1.0 - beta2**self.steps)
        for name, param in self.params.items():
            grad = grads[name] + self.weight_decay * param if self.weight_decay else grads[name]
            exp_avg, exp_avg_sq, scratch = self.exp_avg[name], self.exp_avg_sq[name], self._scratch[name]
            np.subtract(grad, exp_avg, out=scratch)  # m += (1 - beta1) (g - m)
            scratch *= 1.0 - beta1
            exp_avg += scratch
            exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
            np.multiply(grad, grad, out=scratch)
            scratch *= 1.0 - beta2
            exp_avg_sq += scratch
            np.sqrt(exp_avg_sq, out=scratch)  # p -= lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)
            scratch /= correction2_sqrt
            scratch += self.eps
            np.divide(exp_avg, scratch, out=scratch)
            scratch *= step_size
            param -= scratch


def train_step(
    model: ManualRNN,
    optimizer: Adam,
    input_ids: np.ndarray,
    attention_mask: np.ndarray | None,
    labels: np.ndarray,
    max_grad_norm: float | None = None,
) -> float:
    """One optimisation step on a batch (forward, loss, backward, optional global-norm clipping, Adam); the loss."""
    loss, grads = model.loss_and_gradients(input_ids, attention_mask, labels)
    if max_grad_norm is not None:
        clip_grad_norm(grads, max_grad_norm)
    optimizer.step(grads)
    return loss
