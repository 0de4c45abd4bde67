"""Configurations of the recurrent sequence classifiers (simple RNN, GRU, LSTM).

This file travels to the Hub as remote code: it may import only `transformers` (and `torch`).
"""

from transformers import PreTrainedConfig

POOLING_CHOICES = ("last", "mean", "max", "attention")


class RecurrentConfig(PreTrainedConfig):
    r"""
    Base configuration shared by [`RNNConfig`], [`GRUConfig`] and [`LSTMConfig`]. It is not registered with the Auto
    classes itself; use one of the three subclasses.

    Args:
        vocab_size (`int`, *optional*, defaults to 8000):
            Number of rows of the token embedding matrix; must cover every id the tokenizer can produce.
        embedding_dim (`int`, *optional*, defaults to 128):
            Size of each token embedding.
        hidden_size (`int`, *optional*, defaults to 128):
            Size of the recurrent state of each direction of each layer.
        num_layers (`int`, *optional*, defaults to 1):
            Number of stacked recurrent layers.
        bidirectional (`bool`, *optional*, defaults to `True`):
            Whether each layer also reads the text from right to left.
        pooling (`str`, *optional*, defaults to `"attention"`):
            How the per-token outputs of the last layer become one vector: `"last"` (final state of each direction),
            `"mean"` or `"max"` over the real tokens, or `"attention"` (additive attention over the outputs).
        attention_size (`int`, *optional*, defaults to 128):
            Size of the scoring layer of the additive attention pooling (unused by the other poolings).
        embedding_dropout (`float`, *optional*, defaults to 0.2):
            Dropout applied to the token embeddings.
        word_dropout (`float`, *optional*, defaults to 0.0):
            Probability, during training only, of replacing a real token by the unknown token.
        rnn_dropout (`float`, *optional*, defaults to 0.0):
            Dropout applied to the outputs of every recurrent layer but the last.
        recurrent_weight_dropout (`float`, *optional*, defaults to 0.0 (0.3 for [`RNNConfig`])):
            DropConnect on the hidden-to-hidden weights during training (Merity et al., 2018): one mask per batch,
            shared by every time step, so the recurrence itself is regularised.
        classifier_dropout (`float`, *optional*, defaults to 0.2):
            Dropout applied to the pooled vector before the classification layer.
        pad_token_id (`int`, *optional*, defaults to 0):
            Id of the padding token; its embedding is kept at zero.
        unk_token_id (`int`, *optional*, defaults to 1):
            Id of the unknown token, used by `word_dropout`.
        initializer_range (`float`, *optional*, defaults to 0.1):
            Standard deviation of the normal initialisation of the embeddings and the linear layers.
        label_smoothing (`float`, *optional*, defaults to 0.2):
            Label smoothing of the training loss (Szegedy et al., 2016): single-label targets put `label_smoothing`
            of their mass evenly on every class; multi-label targets become `y * (1 - s) + s / 2`.
        adversarial_epsilon (`float`, *optional*, defaults to 0.15):
            Adversarial training (Miyato et al., 2017): in training, the loss given `labels` adds the loss of the
            same batch with each text's word vectors moved along the gradient of the first loss (the small change
            that raises it most), by `adversarial_epsilon` times their own L2 norm (all of the text's vectors taken
            together), so that the step does not depend on the embeddings' scale. 0 turns it off.
        class_weights (`list[float]`, *optional*):
            Weight of each label in the training loss (cross-entropy weights; for multi-label models, weights of the
            positive term of each label's binary cross-entropy). `None` weighs every label 1.
        multi_label_threshold (`float`, *optional*, defaults to 0.5):
            Multi-label models predict every label whose probability reaches this threshold.
        text_column_names (`list[str]`, *optional*):
            The data columns joined into the model's input text in training (with `text_column_delimiter`), kept so
            that evaluation reads the same columns by default.
        text_column_delimiter (`str`, *optional*, defaults to `" "`):
            What joined several text columns.
        label_column_name (`str`, *optional*):
            The data column the labels came from in training.

    The defaults are the recommended from-scratch model: a bidirectional layer with attention pooling and light
    dropout won the comparisons on TREC's validation split (docs/results.md).
    """

    model_type = ""

    vocab_size: int = 8000
    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "attention"
    attention_size: int = 128
    embedding_dropout: float = 0.2
    word_dropout: float = 0.0
    rnn_dropout: float = 0.0
    recurrent_weight_dropout: float = 0.0
    classifier_dropout: float = 0.2
    pad_token_id: int | None = 0
    unk_token_id: int | None = 1
    initializer_range: float = 0.1
    label_smoothing: float = 0.2
    adversarial_epsilon: float = 0.15
    class_weights: list[float] | None = None
    multi_label_threshold: float = 0.5
    text_column_names: list[str] | None = None
    text_column_delimiter: str = " "
    label_column_name: str | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.pooling not in POOLING_CHOICES:
            raise ValueError(f"`pooling` must be one of {POOLING_CHOICES}, got {self.pooling!r}.")
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers", "attention_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)!r}.")
        for name in (
            "embedding_dropout",
            "word_dropout",
            "rnn_dropout",
            "recurrent_weight_dropout",
            "classifier_dropout",
        ):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {getattr(self, name)!r}.")
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {self.label_smoothing!r}.")
        if not 0.0 <= float(self.adversarial_epsilon) < float("inf"):
            raise ValueError(f"`adversarial_epsilon` must be 0 or more, got {self.adversarial_epsilon!r}.")
        if not 0.0 < float(self.multi_label_threshold) < 1.0:
            raise ValueError(f"`multi_label_threshold` must be in (0, 1), got {self.multi_label_threshold!r}.")
        if self.class_weights is not None and (
            len(self.class_weights) != self.num_labels or any(float(weight) <= 0 for weight in self.class_weights)
        ):
            raise ValueError(
                f"`class_weights` must hold one positive weight per label ({self.num_labels}), "
                f"got {self.class_weights!r}."
            )
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"`pad_token_id` {self.pad_token_id} is outside the vocabulary (size {self.vocab_size}).")

    @property
    def num_directions(self) -> int:
        """Number of directions each recurrent layer reads the sequence in (1 or 2)."""
        return 2 if self.bidirectional else 1


class RNNConfig(RecurrentConfig):
    r"""
    Configuration of [`RNNModel`] and [`RNNForSequenceClassification`], an Elman (simple) recurrent network. It takes
    every argument of [`RecurrentConfig`], plus:

    Args:
        nonlinearity (`str`, *optional*, defaults to `"tanh"`):
            Activation of the recurrence, `"tanh"` or `"relu"`.
        recurrent_weight_dropout (`float`, *optional*, defaults to 0.3):
            As in [`RecurrentConfig`], with a default of its own: it helped the simple RNN alone (docs/results.md).

    Example:

    ```python
    >>> from hf_rnn import RNNConfig, RNNForSequenceClassification

    >>> config = RNNConfig(vocab_size=1000, hidden_size=64, num_labels=6)
    >>> model = RNNForSequenceClassification(config)
    >>> config = model.config
    ```"""

    model_type = "hf_rnn"

    nonlinearity: str = "tanh"
    recurrent_weight_dropout: float = 0.3

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"`nonlinearity` must be 'tanh' or 'relu', got {self.nonlinearity!r}.")


class GRUConfig(RecurrentConfig):
    r"""
    Configuration of [`GRUModel`] and [`GRUForSequenceClassification`], a gated recurrent unit network. It takes every
    argument of [`RecurrentConfig`].

    Example:

    ```python
    >>> from hf_rnn import GRUConfig, GRUForSequenceClassification

    >>> config = GRUConfig(vocab_size=1000, bidirectional=True, pooling="attention", num_labels=6)
    >>> model = GRUForSequenceClassification(config)
    ```"""

    model_type = "hf_gru"


class LSTMConfig(RecurrentConfig):
    r"""
    Configuration of [`LSTMModel`] and [`LSTMForSequenceClassification`], a long short-term memory network. It takes
    every argument of [`RecurrentConfig`].

    Example:

    ```python
    >>> from hf_rnn import LSTMConfig, LSTMForSequenceClassification

    >>> config = LSTMConfig(vocab_size=1000, num_layers=2, pooling="max", num_labels=6)
    >>> model = LSTMForSequenceClassification(config)
    ```"""

    model_type = "hf_lstm"


__all__ = ["RecurrentConfig", "RNNConfig", "GRUConfig", "LSTMConfig"]
