"""Recurrent sequence classifiers (simple RNN, GRU, LSTM) as Hugging Face `PreTrainedModel`s.

The three families share every line of code but the recurrent layer they build. Padding, on either side, never reaches
the pooled vector: the real tokens of each row are moved to the front, packed with `pack_padded_sequence`, and the
outputs are put back in the caller's layout. When the forward is traced (`torch.export`, `torch.compile`, the ONNX
exporters, `torch.jit.trace`) it takes a path without packing, host copy or data-dependent Python branch: each
direction runs over the padded tensor, the right-to-left one over every row's real tokens reversed in place, with the
same results.

This file travels to the Hub as remote code: it may import only `torch`, `transformers` and the configuration file.
"""

from typing import ClassVar

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPooling, SequenceClassifierOutput

from .configuration_hf_rnn import GRUConfig, LSTMConfig, RecurrentConfig, RNNConfig


def _traced() -> bool:
    """Whether the forward is being traced (`torch.export`, `torch.compile`, the ONNX exporters, `torch.jit.trace`)."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def _real_tokens(attention_mask: torch.Tensor | None, reference: torch.Tensor) -> torch.Tensor:
    """`attention_mask` as booleans (all true if `None`), checked against the batch and length of `reference`."""
    batch_size, length = reference.shape[:2]
    if attention_mask is None:
        return torch.ones(batch_size, length, dtype=torch.bool, device=reference.device)
    if attention_mask.shape != (batch_size, length):
        raise ValueError(f"`attention_mask` has shape {tuple(attention_mask.shape)}, expected {(batch_size, length)}.")
    return attention_mask.bool()


def _text_norms(vectors: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each row's vectors taken together: `(batch, length, size)` -> `(batch,)`."""
    return vectors.flatten(1).norm(dim=1)


def _left_align(mask: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Per-row permutation moving the real tokens (mask 1) to the front, in their order, and its inverse: `order[b, i]` is
    the caller's position of aligned position `i`, `restore[b, t]` the aligned position of the caller's position `t`.
    Cumulative sums and one scatter, no sort, so that it traces to plain ONNX operators.
    """
    real = mask.long()
    restore = torch.where(mask, real.cumsum(dim=1) - 1, lengths.unsqueeze(1) + (1 - real).cumsum(dim=1) - 1)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(restore)
    return torch.empty_like(restore).scatter(1, restore, positions), restore


def _reverse_real_tokens(lengths: torch.Tensor, length: int) -> torch.Tensor:
    """Per-row permutation (its own inverse) reversing the first `lengths[b]` positions and keeping the rest."""
    positions = torch.arange(length, device=lengths.device).unsqueeze(0)
    last = lengths.unsqueeze(1) - 1
    return torch.where(positions <= last, last - positions, positions)


def _permute_tokens(tensor: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Reorder dimension 1 of a `(batch, length, ...)` tensor by the per-row permutation `order`."""
    # Sizes from `order`, not `tensor`: a traced recurrent layer's output may carry the example's length as a constant.
    index = order.view(*order.shape, *([1] * (tensor.dim() - 2))).expand(*order.shape, *tensor.shape[2:])
    return tensor.gather(1, index)


_RECURRENCES = {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}


def _run_direction(layer: nn.RNNBase, inputs: torch.Tensor, suffix: str, training: bool) -> torch.Tensor:
    """
    The outputs of one direction (`suffix` `""` left to right, `"_reverse"` right to left) of the single-layer,
    batch-first `layer`, run left to right over the whole of `inputs` from a zero state.
    """
    names = ("weight_ih_l0", "weight_hh_l0") + (("bias_ih_l0", "bias_hh_l0") if layer.bias else ())
    weights = [getattr(layer, name + suffix) for name in names]
    state = inputs.new_zeros(1, inputs.shape[0], layer.hidden_size)
    initial = (state, state) if layer.mode == "LSTM" else state
    return _RECURRENCES[layer.mode](inputs, initial, weights, layer.bias, 1, 0.0, training, False, True)[0]


class AdditiveAttentionPooling(nn.Module):
    """Additive (Bahdanau) attention over the outputs: `a = softmax(v^T tanh(W h_t + b))`, `pooled = sum_t a_t h_t`."""

    def __init__(self, input_size: int, attention_size: int):
        super().__init__()
        self.projection = nn.Linear(input_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(self, outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.projection(outputs))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)


class RecurrentPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading conventions shared by the three recurrent families."""

    config_class = RecurrentConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.RNNBase):
            gates = module.weight_hh_l0.shape[0] // module.hidden_size
            for name, param in module.named_parameters():
                if getattr(param, "_is_hf_initialized", False):
                    continue
                if name.startswith("weight_ih"):
                    for gate in param.chunk(gates, dim=0):
                        init.xavier_uniform_(gate)
                elif name.startswith("weight_hh"):
                    for gate in param.chunk(gates, dim=0):
                        init.orthogonal_(gate)
                else:
                    init.zeros_(param)
                    if isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                        # Forget-gate bias 1 (gate order i, f, g, o): remember by default early in training.
                        init.ones_(param[module.hidden_size : 2 * module.hidden_size])


class RecurrentModel(RecurrentPreTrainedModel):
    """
    Bare recurrent encoder: token embeddings, `num_layers` recurrent layers and a pooling of the last layer's outputs.
    Subclasses choose the recurrent layer by overriding [`~RecurrentModel.build_recurrent_layer`].
    """

    def __init__(self, config: RecurrentConfig):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        output_size = config.hidden_size * config.num_directions
        self.layers = nn.ModuleList(
            self.build_recurrent_layer(config.embedding_dim if index == 0 else output_size)
            for index in range(config.num_layers)
        )
        self.rnn_dropout = nn.Dropout(config.rnn_dropout)
        self.attention = (
            AdditiveAttentionPooling(output_size, config.attention_size) if config.pooling == "attention" else None
        )
        self.post_init()

    @property
    def output_size(self) -> int:
        """Size of the pooled vector (and of each per-token output)."""
        return self.config.hidden_size * self.config.num_directions

    def build_recurrent_layer(self, input_size: int) -> nn.RNNBase:
        """Return one single-layer recurrent module reading vectors of size `input_size` (batch first)."""
        raise NotImplementedError

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings = value

    def embed(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The word vectors of `input_ids` as the forward looks them up (in training, after word dropout)."""
        return self.embeddings(self._drop_words(input_ids, _real_tokens(attention_mask, input_ids)))

    def _drop_words(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not self.training or self.config.word_dropout == 0 or self.config.unk_token_id is None:
            return input_ids
        dropped = (torch.rand(input_ids.shape, device=input_ids.device) < self.config.word_dropout) & mask
        return input_ids.masked_fill(dropped, self.config.unk_token_id)

    def _run_layer(self, layer: nn.RNNBase, packed: PackedSequence) -> tuple[PackedSequence, torch.Tensor | tuple]:
        """`layer(packed)`, in training with `recurrent_weight_dropout` applied to its hidden-to-hidden weights."""
        rate = self.config.recurrent_weight_dropout
        if not self.training or rate == 0:
            return layer(packed)
        dropped = {
            name: nn.functional.dropout(weight, rate)
            for name, weight in layer.named_parameters()
            if name.startswith("weight_hh")
        }
        return functional_call(layer, dropped, (packed,))

    def _encode_packed(
        self, hidden: torch.Tensor, host_lengths: torch.Tensor, output_hidden_states: bool
    ) -> tuple[torch.Tensor, list | None, torch.Tensor]:
        """
        The recurrent layers over left-aligned `hidden`, packed to `host_lengths` (on the CPU). Returns the last
        layer's outputs (zeros at padding), the hidden states if asked, and the final state of each direction.
        """
        length = hidden.shape[1]
        packed = pack_padded_sequence(hidden, host_lengths, batch_first=True, enforce_sorted=False)
        all_hidden_states = [hidden] if output_hidden_states else None
        final_state = None
        for index, layer in enumerate(self.layers):
            if index > 0:
                packed = PackedSequence(
                    self.rnn_dropout(packed.data), packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
                )
            packed, final_state = self._run_layer(layer, packed)
            if output_hidden_states:
                all_hidden_states.append(pad_packed_sequence(packed, batch_first=True, total_length=length)[0])
        outputs = (
            all_hidden_states[-1]
            if output_hidden_states
            else pad_packed_sequence(packed, batch_first=True, total_length=length)[0]
        )
        if isinstance(final_state, tuple):  # LSTM: (h_n, c_n)
            final_state = final_state[0]
        return outputs, all_hidden_states, final_state

    def _encode_padded(
        self, hidden: torch.Tensor, lengths: torch.Tensor, valid: torch.Tensor, output_hidden_states: bool
    ) -> tuple[torch.Tensor, list | None, torch.Tensor]:
        """
        What `_encode_packed` computes, without packing (for tracing): each direction runs over the whole padded
        tensor, the right-to-left one over every row's real tokens reversed in place, so that padding, always behind
        the real tokens, is read only after them and never reaches a kept output.
        """
        reverse = _reverse_real_tokens(lengths, hidden.shape[1]) if self.config.bidirectional else None
        keep = valid.unsqueeze(-1).to(hidden.dtype)
        all_hidden_states = [hidden] if output_hidden_states else None
        for index, layer in enumerate(self.layers):
            if index > 0:
                hidden = self.rnn_dropout(hidden)
            outputs = _run_direction(layer, hidden, "", self.training)
            if reverse is not None:
                backward = _run_direction(layer, _permute_tokens(hidden, reverse), "_reverse", self.training)
                outputs = torch.cat([outputs, _permute_tokens(backward, reverse)], dim=-1)
            hidden = outputs * keep
            if output_hidden_states:
                all_hidden_states.append(hidden)
        size = self.config.hidden_size
        # Left to right, the state after the last real token; right to left, the state after the first one.
        final_state = [hidden[..., :size].gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, size)).squeeze(1)]
        if reverse is not None:
            final_state.append(hidden[:, 0, size:])
        return hidden, all_hidden_states, torch.stack(final_state)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPooling | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                Token ids from the model's tokenizer.
            attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*):
                1 for real tokens, 0 for padding (left, right or both). Defaults to all ones.
            inputs_embeds (`torch.FloatTensor` of shape `(batch_size, sequence_length, embedding_dim)`, *optional*):
                Embedded tokens, in place of `input_ids`.
            output_hidden_states (`bool`, *optional*):
                Also return the embeddings and the outputs of every recurrent layer.
            return_dict (`bool`, *optional*):
                Return a [`~modeling_outputs.BaseModelOutputWithPooling`] rather than a tuple.

        Returns:
            [`~modeling_outputs.BaseModelOutputWithPooling`]: `last_hidden_state` holds the last layer's outputs in the
            caller's token layout (zeros at padding), `pooler_output` the pooled vector.
        """
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of `input_ids` and `inputs_embeds`.")
        reference = input_ids if input_ids is not None else inputs_embeds
        batch_size, length = reference.shape[:2]
        mask = _real_tokens(attention_mask, reference)
        if length == 0:  # an empty question: read one padding token instead of nothing
            mask = mask.new_zeros(batch_size, 1)
            if input_ids is not None:
                input_ids = input_ids.new_full((batch_size, 1), self.config.pad_token_id or 0)
            else:
                inputs_embeds = inputs_embeds.new_zeros(batch_size, 1, inputs_embeds.shape[-1])
            length = 1

        lengths = mask.sum(dim=1)
        traced = _traced()
        if traced:  # every row is aligned (a no-op for rows without leading padding), nothing is read on the host
            host_lengths = None
            order, restore = _left_align(mask, lengths)
        else:
            # What the host must know comes over in one device-to-host copy (on a GPU, one sync per forward): the
            # lengths, which `pack_padded_sequence` takes on the CPU, and whether a row pads before a real token.
            unaligned = (mask[:, 1:] > mask[:, :-1]).any().unsqueeze(0)
            host = torch.cat([lengths, unaligned.to(lengths.dtype)]).cpu()
            host_lengths = host[:-1]
            order, restore = _left_align(mask, lengths) if bool(host[-1]) else (None, None)
        if order is not None:
            mask = _permute_tokens(mask, order)
            if input_ids is not None:
                input_ids = _permute_tokens(input_ids, order)
            else:
                inputs_embeds = _permute_tokens(inputs_embeds, order)
        # A row without real tokens reads one padding token, whatever ids its masked positions hold, so that every
        # row has a state and it never depends on the batch.
        if traced or bool((host_lengths == 0).any()):
            first = (lengths == 0).unsqueeze(1) & (torch.arange(length, device=mask.device) == 0).unsqueeze(0)
            if input_ids is not None:
                input_ids = input_ids.masked_fill(first, self.config.pad_token_id or 0)
            else:
                inputs_embeds = inputs_embeds.masked_fill(first.unsqueeze(-1), 0.0)
            lengths = lengths.clamp(min=1)
            host_lengths = None if traced else host_lengths.clamp(min=1)
        valid = torch.arange(length, device=mask.device).unsqueeze(0) < lengths.unsqueeze(1)

        if inputs_embeds is None:
            inputs_embeds = self.embed(input_ids, mask)
        hidden = self.embedding_dropout(inputs_embeds)
        if traced:
            outputs, all_hidden_states, final_state = self._encode_padded(hidden, lengths, valid, output_hidden_states)
        else:
            outputs, all_hidden_states, final_state = self._encode_packed(hidden, host_lengths, output_hidden_states)

        pooled = self._pool(outputs, valid, final_state)

        if restore is not None:
            outputs = _permute_tokens(outputs, restore)
            if output_hidden_states:
                all_hidden_states = [_permute_tokens(state, restore) for state in all_hidden_states]
        hidden_states = tuple(all_hidden_states) if output_hidden_states else None
        if not return_dict:
            return tuple(value for value in (outputs, pooled, hidden_states) if value is not None)
        return BaseModelOutputWithPooling(last_hidden_state=outputs, pooler_output=pooled, hidden_states=hidden_states)

    def _pool(self, outputs: torch.Tensor, valid: torch.Tensor, final_state: torch.Tensor) -> torch.Tensor:
        pooling = self.config.pooling
        if pooling == "last":
            # final_state: (num_directions, batch, hidden) of the last layer -> (batch, num_directions * hidden)
            return final_state.transpose(0, 1).reshape(final_state.shape[1], -1)
        if pooling == "mean":
            summed = (outputs * valid.unsqueeze(-1)).sum(dim=1)
            return summed / valid.sum(dim=1, keepdim=True).to(outputs.dtype)
        if pooling == "max":
            return outputs.masked_fill(~valid.unsqueeze(-1), torch.finfo(outputs.dtype).min).max(dim=1).values
        return self.attention(outputs, valid)


class RecurrentForSequenceClassification(RecurrentPreTrainedModel):
    """
    A recurrent encoder with a linear classification layer on its pooled vector. Subclasses set `encoder_class`.
    """

    encoder_class: ClassVar[type[RecurrentModel]]

    def __init__(self, config: RecurrentConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.encoder = self.encoder_class(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(self.encoder.output_size, config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.encoder.embeddings = value

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, inputs_embeds, output_hidden_states, return_dict:
                As in [`RecurrentModel.forward`].
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
                Class ids for the cross-entropy loss (float targets for `problem_type="regression"` or
                `"multi_label_classification"`). In training, with `config.adversarial_epsilon` > 0 and gradients
                enabled, the loss also counts the batch read with adversarially moved word vectors.

        Returns:
            [`~modeling_outputs.SequenceClassifierOutput`] with `logits` of shape `(batch_size, num_labels)`, and
            `loss` when `labels` are given.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        epsilon = float(self.config.adversarial_epsilon)
        adversarial = labels is not None and epsilon > 0 and self.training and torch.is_grad_enabled()
        if adversarial:  # the word vectors, looked up here so that the loss can be differentiated with respect to them
            if inputs_embeds is None:
                inputs_embeds = self.encoder.embed(input_ids, attention_mask)
                input_ids = None
            if not inputs_embeds.requires_grad:  # frozen embeddings
                inputs_embeds = inputs_embeds.detach().requires_grad_()
        encoded = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self._classify(encoded.pooler_output)
        loss = self._loss(logits, labels) if labels is not None else None
        if adversarial:
            loss = loss + self._adversarial_loss(loss, inputs_embeds, attention_mask, labels, epsilon)
        if not return_dict:
            output = (logits,) + ((encoded.hidden_states,) if encoded.hidden_states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=encoded.hidden_states)

    def _classify(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(pooled))

    def _adversarial_loss(
        self,
        loss: torch.Tensor,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor | None,
        labels: torch.Tensor,
        epsilon: float,
    ) -> torch.Tensor:
        """The loss of the batch read again with each text's word vectors moved along the gradient of `loss`, by
        `epsilon` times the norm of the text's real word vectors (Miyato et al., 2017)."""
        (gradient,) = torch.autograd.grad(loss, inputs_embeds, retain_graph=True, allow_unused=True)
        if gradient is None:  # an empty batch (no token read): nothing to move
            gradient = torch.zeros_like(inputs_embeds)
        real = _real_tokens(attention_mask, inputs_embeds).unsqueeze(-1)
        scale = epsilon * _text_norms(inputs_embeds.detach() * real) / _text_norms(gradient).clamp(min=1e-12)
        step = gradient * scale.view(-1, 1, 1)
        moved = self.encoder(inputs_embeds=inputs_embeds + step, attention_mask=attention_mask)
        return self._loss(self._classify(moved.pooler_output), labels)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            return nn.functional.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
        weights = self.config.class_weights
        weights = torch.tensor(weights, dtype=logits.dtype, device=logits.device) if weights is not None else None
        smoothing = float(self.config.label_smoothing)
        if self.config.problem_type == "multi_label_classification":
            targets = labels.to(logits.dtype) * (1.0 - smoothing) + smoothing / 2
            return nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weights)
        return nn.functional.cross_entropy(
            logits.view(-1, self.num_labels), labels.view(-1), weight=weights, label_smoothing=smoothing
        )


class RNNModel(RecurrentModel):
    """Bare simple (Elman) RNN encoder: `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`."""

    config_class = RNNConfig

    def build_recurrent_layer(self, input_size: int) -> nn.RNN:
        return nn.RNN(
            input_size,
            self.config.hidden_size,
            nonlinearity=self.config.nonlinearity,
            batch_first=True,
            bidirectional=self.config.bidirectional,
        )


class GRUModel(RecurrentModel):
    """Bare GRU encoder."""

    config_class = GRUConfig

    def build_recurrent_layer(self, input_size: int) -> nn.GRU:
        return nn.GRU(input_size, self.config.hidden_size, batch_first=True, bidirectional=self.config.bidirectional)


class LSTMModel(RecurrentModel):
    """Bare LSTM encoder."""

    config_class = LSTMConfig

    def build_recurrent_layer(self, input_size: int) -> nn.LSTM:
        return nn.LSTM(input_size, self.config.hidden_size, batch_first=True, bidirectional=self.config.bidirectional)


class RNNForSequenceClassification(RecurrentForSequenceClassification):
    """Simple RNN sequence classifier."""

    config_class = RNNConfig
    encoder_class = RNNModel


class GRUForSequenceClassification(RecurrentForSequenceClassification):
    """GRU sequence classifier."""

    config_class = GRUConfig
    encoder_class = GRUModel


class LSTMForSequenceClassification(RecurrentForSequenceClassification):
    """LSTM sequence classifier."""

    config_class = LSTMConfig
    encoder_class = LSTMModel


__all__ = [
    "RecurrentPreTrainedModel",
    "RecurrentModel",
    "RecurrentForSequenceClassification",
    "RNNModel",
    "GRUModel",
    "LSTMModel",
    "RNNForSequenceClassification",
    "GRUForSequenceClassification",
    "LSTMForSequenceClassification",
]
