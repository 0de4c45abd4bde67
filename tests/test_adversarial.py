"""Adversarial training on the word embeddings: the model's own loss, frozen embeddings, a real Trainer run."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import Trainer, TrainingArguments

from hf_rnn import ARCHITECTURES, LSTMConfig, LSTMForSequenceClassification
from hf_rnn.training import train
from hf_rnn.training_args import ArgumentError, DataArguments, ModelArguments, RecurrentTrainingArguments

INPUT_IDS = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0], [0, 8, 9, 10]])  # right and left padding
ATTENTION_MASK = (INPUT_IDS != 0).long()
LABELS = torch.tensor([0, 2, 1])
NO_DROPOUT = dict(embedding_dropout=0.0, classifier_dropout=0.0)


def small_lstm(**overrides) -> LSTMForSequenceClassification:
    torch.manual_seed(0)
    settings = dict(vocab_size=20, embedding_dim=6, hidden_size=5, num_labels=3, label_smoothing=0.0, **NO_DROPOUT)
    settings.update(overrides)
    return LSTMForSequenceClassification(LSTMConfig(**settings))


def loss_of(model, **inputs) -> torch.Tensor:
    return model(attention_mask=ATTENTION_MASK, labels=LABELS, **inputs).loss


@pytest.mark.parametrize("model_type", sorted(ARCHITECTURES))
def test_every_family_defaults_to_adversarial_training(model_type):
    assert ARCHITECTURES[model_type][0]().adversarial_epsilon == 0.15


def test_training_loss_adds_the_loss_of_word_vectors_moved_epsilon_along_the_gradient():
    model = small_lstm(adversarial_epsilon=0.5).train()
    model.get_input_embeddings().weight.data[0] = 3.0  # a non-zero padding vector must not count in a text's norm
    loss = loss_of(model, input_ids=INPUT_IDS)

    # The same by hand, through `inputs_embeds`: the clean loss's gradient with respect to the looked-up vectors,
    # scaled to half the norm of each text's real word vectors, moves them; the loss is the sum of both losses.
    model.eval()
    vectors = model.get_input_embeddings()(INPUT_IDS).detach().requires_grad_()
    clean = loss_of(model, inputs_embeds=vectors)
    (gradient,) = torch.autograd.grad(clean, vectors)
    text_norms = torch.stack([vectors[row, ATTENTION_MASK[row].bool()].norm() for row in range(3)])
    step = gradient * (0.5 * text_norms / gradient.flatten(1).norm(dim=1)).view(-1, 1, 1)
    moved = loss_of(model, inputs_embeds=vectors + step)

    assert moved > clean  # uphill: the move raises the loss
    torch.testing.assert_close(loss, clean + moved)
    torch.testing.assert_close(loss_of(model, input_ids=INPUT_IDS), clean)  # evaluation: the plain loss
    with torch.no_grad():  # and without gradients, in training too
        torch.testing.assert_close(loss_of(model.train(), input_ids=INPUT_IDS), clean)


def test_epsilon_zero_is_the_plain_loss_and_logits_never_change():
    adversarial = small_lstm(adversarial_epsilon=2.0).train()
    plain = small_lstm(adversarial_epsilon=0.0).train()
    outputs = adversarial(input_ids=INPUT_IDS, attention_mask=ATTENTION_MASK, labels=LABELS)
    expected = plain(input_ids=INPUT_IDS, attention_mask=ATTENTION_MASK, labels=LABELS)
    torch.testing.assert_close(outputs.logits, expected.logits)  # the logits are those of the batch as it is
    assert outputs.loss > expected.loss


def test_gradients_reach_the_network_with_frozen_embeddings():
    model = small_lstm().train()
    model.get_input_embeddings().weight.requires_grad_(False)
    loss_of(model, input_ids=INPUT_IDS).backward()
    assert model.get_input_embeddings().weight.grad is None
    assert all(parameter.grad is not None for name, parameter in model.named_parameters() if "embeddings" not in name)


def test_empty_texts_train_without_error():
    model = small_lstm().train()
    empty = torch.zeros((2, 0), dtype=torch.long)
    loss = model(input_ids=empty, attention_mask=empty, labels=LABELS[:2]).loss
    assert torch.isfinite(loss)
    loss.backward()


def test_attention_mask_of_another_shape_is_named_in_training():
    model = small_lstm(word_dropout=0.5).train()
    with pytest.raises(ValueError, match="`attention_mask` has shape"):
        model(input_ids=INPUT_IDS, attention_mask=ATTENTION_MASK[:, :3], labels=LABELS)


def test_the_plain_trainer_trains_adversarially(tmp_path):
    """The plain `transformers.Trainer` gets the adversarial loss from the model: the same seed trains otherwise."""
    examples = [{"input_ids": row.tolist(), "attention_mask": mask.tolist(), "labels": int(label)}
                for row, mask, label in zip(INPUT_IDS, ATTENTION_MASK, LABELS)] * 4  # fmt: skip

    def trained(epsilon: float) -> torch.Tensor:
        model = small_lstm(adversarial_epsilon=epsilon)
        args = TrainingArguments(str(tmp_path / str(epsilon)), num_train_epochs=2, per_device_train_batch_size=4,
                                 learning_rate=1e-2, report_to="none", save_strategy="no", seed=0)  # fmt: skip
        Trainer(model=model, args=args, train_dataset=examples).train()
        return model.classifier.weight.detach()

    assert not torch.allclose(trained(1.0), trained(0.0))


def test_hf_rnn_train_keeps_the_epsilon_in_the_config(tiny_label_file, tmp_path):
    def run(epsilon: float, name: str) -> None:
        train(
            ModelArguments(model_type="gru", embedding_dim=8, hidden_size=8, adversarial_epsilon=epsilon),
            DataArguments(train_file=str(tiny_label_file), validation_fraction=0.2, test_fraction=0.2),
            RecurrentTrainingArguments(
                output_dir=str(tmp_path / name), num_train_epochs=2, disable_tqdm=True, save_total_limit=1, seed=3
            ),
        )

    run(0.5, "adversarial")
    run(0.0, "plain")
    card = (tmp_path / "adversarial" / "README.md").read_text()
    assert "| `adversarial_epsilon` | `0.5` |" in card and "gradient of its loss by 0.5 times their own norm" in card
    assert "adversarial training" not in (tmp_path / "plain" / "README.md").read_text()  # 0: off, and not said
    trained = load_file(tmp_path / "adversarial" / "model.safetensors")
    plain = load_file(tmp_path / "plain" / "model.safetensors")
    assert not torch.allclose(trained["classifier.weight"], plain["classifier.weight"])  # same seed, other training


def test_negative_epsilon_is_refused():
    with pytest.raises(ValueError, match="adversarial_epsilon"):
        LSTMConfig(adversarial_epsilon=-1.0)
    with pytest.raises(ArgumentError, match="adversarial_epsilon"):
        ModelArguments(model_type="lstm", adversarial_epsilon=-1.0)
