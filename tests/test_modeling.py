"""The three recurrent families as transformers models: Auto classes, masking, outputs, loss, Trainer."""

import subprocess
import sys
import textwrap

import pytest
import torch
from datasets import Dataset
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from hf_rnn import ARCHITECTURES, RNNConfig
from hf_rnn.tokenization import train_tokenizer

from .conftest import subprocess_env

FAMILIES = list(ARCHITECTURES)
POOLINGS = ["last", "mean", "max", "attention"]


def small_config(family: str, **overrides):
    config_class = ARCHITECTURES[family][0]
    settings = dict(vocab_size=40, embedding_dim=8, hidden_size=6, num_labels=3, initializer_range=0.5)
    settings.update(overrides)
    return config_class(**settings)


def small_classifier(family: str, **overrides):
    torch.manual_seed(0)
    return ARCHITECTURES[family][2](small_config(family, **overrides)).eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_model_types_are_unique_and_registered(family, tmp_path):
    config_class, encoder_class, classifier_class = ARCHITECTURES[family]
    assert AutoConfig.for_model(config_class.model_type).__class__ is config_class
    model = small_classifier(family)
    model.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is config_class
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert type(reloaded) is classifier_class
    encoder = AutoModel.from_pretrained(tmp_path)
    assert type(encoder) is encoder_class
    ids = torch.tensor([[3, 4, 5, 6]])
    torch.testing.assert_close(reloaded(ids).logits, model(ids).logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(encoder(ids).pooler_output, model.encoder(ids).pooler_output, rtol=0, atol=1e-6)
    assert len({config.model_type for config, _, _ in ARCHITECTURES.values()}) == 3


@pytest.mark.parametrize("family", FAMILIES)
def test_save_pretrained_writes_auto_map_and_code(family, tmp_path):
    small_classifier(family).save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path).to_dict()
    assert config["auto_map"]["AutoModelForSequenceClassification"].startswith("modeling_hf_rnn.")
    assert config["auto_map"]["AutoConfig"].startswith("configuration_hf_rnn.")
    assert (tmp_path / "modeling_hf_rnn.py").is_file() and (tmp_path / "configuration_hf_rnn.py").is_file()
    assert (tmp_path / "model.safetensors").is_file()


@pytest.mark.parametrize("family", FAMILIES)
def test_loads_with_remote_code_where_hf_rnn_cannot_be_imported(family, tmp_path):
    model = small_classifier(family, bidirectional=True, pooling="attention")
    model_dir = tmp_path / "model"
    model.save_pretrained(model_dir)
    ids = [[3, 4, 5, 6, 0], [7, 8, 9, 10, 11]]
    mask = [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    expected = model(torch.tensor(ids), attention_mask=torch.tensor(mask)).logits
    script = textwrap.dedent(
        f"""
        import sys, json, torch
        sys.modules["hf_rnn"] = None  # any import of hf_rnn now raises ImportError
        try:
            import hf_rnn
        except ImportError:
            pass
        else:
            raise SystemExit("hf_rnn was importable")
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained({str(model_dir)!r}, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        logits = model(torch.tensor({ids}), attention_mask=torch.tensor({mask})).logits
        print(json.dumps(logits.tolist()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    logits = torch.tensor(eval(result.stdout.strip().splitlines()[-1]))
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("shape", [dict(num_layers=1, bidirectional=False), dict(num_layers=2, bidirectional=True)])
def test_padding_never_changes_logits(family, pooling, shape):
    model = small_classifier(family, pooling=pooling, **shape)
    question = [5, 9, 12, 7]
    longer = [3, 8, 14, 21, 30, 11, 2]
    alone = model(torch.tensor([question])).logits[0]
    pad = model.config.pad_token_id
    right = model(
        torch.tensor([question + [pad] * 3, longer]),
        attention_mask=torch.tensor([[1] * 4 + [0] * 3, [1] * 7]),
    ).logits[0]
    left = model(
        torch.tensor([longer, [pad] * 3 + question]),
        attention_mask=torch.tensor([[1] * 7, [0] * 3 + [1] * 4]),
    ).logits[1]
    # Padding whose ids are not the pad id must not leak either: the mask alone decides.
    junk = model(
        torch.tensor([[33] * 3 + question + [17] * 2]),
        attention_mask=torch.tensor([[0] * 3 + [1] * 4 + [0] * 2]),
    ).logits[0]
    for padded in (right, left, junk):
        torch.testing.assert_close(padded, alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_outputs_loss_and_hidden_states(family):
    model = small_classifier(family, num_layers=2, bidirectional=True)
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    labels = torch.tensor([0, 2])
    output = model(ids, attention_mask=mask, labels=labels, output_hidden_states=True)
    assert isinstance(output, SequenceClassifierOutput)
    smoothing = model.config.label_smoothing
    expected = torch.nn.functional.cross_entropy(output.logits, labels, label_smoothing=smoothing)
    torch.testing.assert_close(output.loss, expected)
    assert output.logits.shape == (2, 3)
    assert len(output.hidden_states) == 1 + 2  # embeddings + one per layer
    assert output.hidden_states[0].shape == (2, 4, 8)
    assert output.hidden_states[-1].shape == (2, 4, 12)
    assert torch.all(output.hidden_states[-1][0, 3] == 0)  # padding position carries no output
    assert model(ids, attention_mask=mask).loss is None
    output.loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    loss, logits = model(ids, attention_mask=mask, labels=labels, return_dict=False)[:2]
    torch.testing.assert_close(loss, output.loss)


@pytest.mark.parametrize("family", FAMILIES)
def test_recurrent_weight_dropout_masks_hidden_to_hidden_weights_in_training_only(family):
    # One forward per batch (no adversarial second pass, which would draw its own masks).
    no_dropout = dict(embedding_dropout=0.0, classifier_dropout=0.0, num_layers=2, bidirectional=True,
                      adversarial_epsilon=0.0)  # fmt: skip
    ids, labels = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]]), torch.tensor([0, 2])
    mask = (ids != 0).long()
    model = small_classifier(family, recurrent_weight_dropout=0.5, **no_dropout)
    plain = small_classifier(family, recurrent_weight_dropout=0.0, **no_dropout)  # the same weights (same seed)
    torch.testing.assert_close(model(ids, attention_mask=mask).logits, plain(ids, attention_mask=mask).logits)
    model.train()
    torch.manual_seed(1)
    model(ids, attention_mask=mask, labels=labels).loss.backward()
    plain.train()
    plain(ids, attention_mask=mask, labels=labels).loss.backward()
    for name, weight in model.encoder.layers.named_parameters():
        # A dropped weight plays no part in the batch: its gradient is exactly 0, for about half of them.
        zero = (weight.grad == 0).float().mean().item()
        if "weight_hh" in name:
            assert 0.3 < zero < 0.7, (name, zero)
        else:
            assert zero < 0.2, (name, zero)
    assert all((weight.grad == 0).float().mean() < 0.2 for weight in plain.encoder.layers.parameters())
    assert model.state_dict().keys() == plain.state_dict().keys()  # saved and loaded like any model


def test_empty_question_and_all_padding_rows_are_classified():
    model = small_classifier("gru")
    empty = model(torch.zeros((1, 0), dtype=torch.long), attention_mask=torch.zeros((1, 0), dtype=torch.long))
    padded = model(torch.tensor([[7, 9], [4, 5]]), attention_mask=torch.tensor([[0, 0], [1, 1]]))
    torch.testing.assert_close(padded.logits[0], empty.logits[0], rtol=0, atol=1e-6)
    assert torch.isfinite(padded.logits).all()


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="pooling"):
        RNNConfig(pooling="median")
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNConfig(nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        RNNConfig(rnn_dropout=1.5)
    with pytest.raises(ValueError, match="recurrent_weight_dropout"):
        RNNConfig(recurrent_weight_dropout=1.0)
    relu = small_classifier("rnn", nonlinearity="relu")
    assert relu.encoder.layers[0].nonlinearity == "relu"


@pytest.mark.parametrize("family", FAMILIES)
def test_trainer_trains_each_family(family, tmp_path):
    texts = ["who wrote hamlet ?", "what is an atom ?", "where is paris ?", "who painted it ?"] * 8
    labels = [0, 1, 2, 0] * 8
    tokenizer = train_tokenizer(texts)
    dataset = Dataset.from_dict({"text": texts, "label": labels}).map(
        lambda batch: tokenizer(batch["text"]), batched=True, remove_columns=["text"]
    )
    model = ARCHITECTURES[family][2](
        small_config(family, vocab_size=len(tokenizer), num_labels=3, initializer_range=0.1, label_smoothing=0.0)
    )  # unsmoothed, so the loss can fall towards 0
    args = TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=15, learning_rate=1e-2, per_device_train_batch_size=8,
        report_to="none", save_strategy="no", disable_tqdm=True, use_cpu=True,
    )  # fmt: skip
    trainer = Trainer(
        model=model, args=args, train_dataset=dataset, eval_dataset=dataset,
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
    )  # fmt: skip
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    assert after < before / 2
