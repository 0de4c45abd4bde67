"""Reliability of loading: a broken model directory gets one clear error naming the file, and a model from a stranger
runs no foreign code: weights come from safetensors only, `trust_remote_code` is never set, and nothing read from
`config.json` becomes a loading option."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, pipeline

from hf_rnn.data.trec import read_label_file
from hf_rnn.inference import ModelLoadError, load_classifier, predict
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

from .conftest import TESTS_DATA, subprocess_env
from .test_reliability_inference import MAX_LENGTH, save_tiny_classifier

FIXTURE = TESTS_DATA / "reliability_train.label"


@pytest.fixture(scope="module")
def good_model(tmp_path_factory) -> Path:
    return save_tiny_classifier(tmp_path_factory.mktemp("good") / "model")


@pytest.fixture
def model_copy(good_model, tmp_path) -> Path:
    return Path(shutil.copytree(good_model, tmp_path / "model"))


def edit_json(path: Path, **changes) -> None:
    content = json.loads(path.read_text())
    content.update(changes)
    path.write_text(json.dumps(content))


def edit_weights(directory: Path, change: Callable[[dict], None]) -> None:
    weights = load_file(directory / "model.safetensors")
    change(weights)
    save_file(weights, directory / "model.safetensors", metadata={"format": "pt"})


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def larger_tokenizer() -> PreTrainedTokenizerFast:
    texts = [question.text for question in read_label_file(FIXTURE)] + ["zebra xylophone quasar nebula"]
    return train_tokenizer(texts, model_max_length=MAX_LENGTH)


def swapped_special_tokens() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "[PAD]": 1, "what": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")


BROKEN_MODELS = {
    "missing weights": (lambda d: os.remove(d / "model.safetensors"), "model.safetensors", "missing"),
    "truncated weights": (lambda d: truncate(d / "model.safetensors"), "model.safetensors", "cannot be loaded"),
    "garbage weights": (
        lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64), "model.safetensors", "cannot be loaded"
    ),
    "weights missing a tensor": (
        lambda d: edit_weights(d, lambda w: w.pop("classifier.weight")),
        "model.safetensors", "missing: classifier.weight",
    ),
    "weights with an extra tensor": (
        lambda d: edit_weights(d, lambda w: w.update(extra=torch.zeros(2))), "model.safetensors", "unexpected: extra"
    ),
    "weights of another shape": (
        lambda d: edit_weights(d, lambda w: w.update({"classifier.weight": torch.zeros(7, 64)})),
        "model.safetensors", "mismatched: classifier.weight [7, 64] instead of [6, 32]",
    ),
    "missing config": (lambda d: os.remove(d / "config.json"), "config.json", "missing"),
    "truncated config": (lambda d: truncate(d / "config.json"), "config.json", "cannot be loaded"),
    "config of another model type": (
        lambda d: edit_json(d / "config.json", model_type="bert", auto_map={}),
        "config.json", "'bert' is not an hf_rnn",
    ),
    "missing tokenizer": (lambda d: os.remove(d / "tokenizer.json"), "tokenizer.json", "missing"),
    "truncated tokenizer": (lambda d: truncate(d / "tokenizer.json"), "tokenizer.json", "cannot be loaded"),
    "tokenizer larger than vocab_size": (
        lambda d: larger_tokenizer().save_pretrained(d), "tokenizer.json", "tokens but config.json has vocab_size"
    ),
    "tokenizer with other special ids": (
        lambda d: swapped_special_tokens().save_pretrained(d), "tokenizer.json", "pad_token_id is 1 but 0"
    ),
}  # fmt: skip


@pytest.mark.parametrize("break_it, file_name, message", BROKEN_MODELS.values(), ids=BROKEN_MODELS.keys())
def test_broken_model_directory_gets_one_error_naming_the_file(model_copy, break_it, file_name, message):
    break_it(model_copy)
    with pytest.raises(ModelLoadError) as error:
        load_classifier(model_copy)
    assert str(error.value).startswith(f"{model_copy / file_name}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


def plant_foreign_code(directory: Path, marker: Path) -> None:
    """Python files that leave `marker` behind if anything imports them, named as the model's own code files."""
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('foreign code ran')\n"
    for name in ("evil.py", "configuration_hf_rnn.py", "modeling_hf_rnn.py"):
        (directory / name).write_text(code)


class Payload:
    """Unpickling this object runs `os.mkdir(marker)`: what a malicious pickled weights file does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_config_cannot_smuggle_remote_code_into_an_hf_rnn_model(model_copy, tmp_path):
    marker = tmp_path / "MARKER"
    plant_foreign_code(model_copy, marker)
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    edit_json(model_copy / "config.json", trust_remote_code=True, auto_map=auto_map)
    edit_json(
        model_copy / "tokenizer_config.json", trust_remote_code=True, auto_map={"AutoTokenizer": ["evil.T", None]}
    )

    model, tokenizer = load_classifier(model_copy)
    assert type(model).__module__ == "hf_rnn.modeling_hf_rnn"
    assert predict(model, tokenizer, ["What is DNA ?"])[0]["label"] in model.config.label2id
    assert pipeline("text-classification", model=str(model_copy))("What is DNA ?")[0]["score"] > 0
    command = [sys.executable, "-m", "hf_rnn.cli", "predict", "--model_name_or_path", str(model_copy), "What is DNA ?"]
    result = subprocess.run(command, check=False, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["label"] in model.config.label2id
    assert not marker.exists()


def test_unknown_model_type_with_auto_map_is_refused_without_running_it(model_copy, tmp_path):
    marker = tmp_path / "MARKER"
    plant_foreign_code(model_copy, marker)
    edit_json(model_copy / "config.json", model_type="evil_rnn", trust_remote_code=True, auto_map={
        "AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"
    })  # fmt: skip
    with pytest.raises(ModelLoadError, match="config.json: model_type 'evil_rnn' is not an hf_rnn model.*never run"):
        load_classifier(model_copy)
    command = [sys.executable, "-m", "hf_rnn.cli", "predict", "--model_name_or_path", str(model_copy), "What is DNA ?"]
    result = subprocess.run(command, check=False, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"hf-rnn predict: error: {model_copy / 'config.json'}: model_type 'evil_rnn' is not an hf_rnn model "
        "(expected one of hf_gru, hf_lstm, hf_rnn); code shipped with a model (auto_map) is never run."
    )
    assert not marker.exists()


def test_pickled_weights_are_never_loaded(model_copy, tmp_path):
    marker = tmp_path / "MARKER"
    os.remove(model_copy / "model.safetensors")
    torch.save({"classifier.weight": Payload(marker)}, model_copy / "pytorch_model.bin")
    edit_json(model_copy / "config.json", use_safetensors=False)  # an option in config.json is not an option
    with pytest.raises(ModelLoadError, match="model.safetensors: missing"):
        load_classifier(model_copy)
    with pytest.raises(ModelLoadError, match="model.safetensors: missing"):
        train(
            ModelArguments(model_name_or_path=str(model_copy)),
            DataArguments(train_file=str(FIXTURE)),
            RecurrentTrainingArguments(output_dir=str(tmp_path / "fine-tuned")),
        )
    assert not marker.exists() and not (tmp_path / "fine-tuned").exists()
