"""hf_rnn: recurrent text classifiers (simple RNN, GRU, LSTM) as first-class Hugging Face models.

Importing the package registers every configuration and model with `AutoConfig`, `AutoModel` and
`AutoModelForSequenceClassification`, and marks the classes so that `save_pretrained` writes `auto_map` and copies the
configuration and modeling files (the saved model then loads with `trust_remote_code=True` where `hf_rnn` is absent).
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_hf_rnn import GRUConfig, LSTMConfig, RecurrentConfig, RNNConfig
from .modeling_hf_rnn import (
    GRUForSequenceClassification,
    GRUModel,
    LSTMForSequenceClassification,
    LSTMModel,
    RecurrentForSequenceClassification,
    RecurrentModel,
    RecurrentPreTrainedModel,
    RNNForSequenceClassification,
    RNNModel,
)

__version__ = "0.2.0"

#: The three families: `model_type` -> (config class, bare encoder, sequence classifier).
ARCHITECTURES = {
    "rnn": (RNNConfig, RNNModel, RNNForSequenceClassification),
    "gru": (GRUConfig, GRUModel, GRUForSequenceClassification),
    "lstm": (LSTMConfig, LSTMModel, LSTMForSequenceClassification),
}

for _config_class, _model_class, _classifier_class in ARCHITECTURES.values():
    AutoConfig.register(_config_class.model_type, _config_class, exist_ok=True)
    AutoModel.register(_config_class, _model_class, exist_ok=True)
    AutoModelForSequenceClassification.register(_config_class, _classifier_class, exist_ok=True)
    _config_class.register_for_auto_class()
    _model_class.register_for_auto_class("AutoModel")
    _classifier_class.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "ARCHITECTURES",
    "RecurrentConfig",
    "RNNConfig",
    "GRUConfig",
    "LSTMConfig",
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
