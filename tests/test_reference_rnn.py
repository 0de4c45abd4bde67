"""The NumPy reference RNN: its gradients, its optimizer, its weight exchange with RNNForSequenceClassification, its
imports, and the side-by-side comparison script."""

import ast
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_rnn import GRUConfig, GRUForSequenceClassification, RNNConfig, RNNForSequenceClassification
from hf_rnn.reference.convert import HF_NAMES, from_hf, to_hf
from hf_rnn.reference.numpy_rnn import (
    PARAMETER_NAMES,
    Adam,
    ManualRNN,
    clip_grad_norm,
    softmax_cross_entropy,
    train_step,
)
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training_args import DataArguments

from .conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FILE = ROOT / "hf_rnn" / "reference" / "numpy_rnn.py"
COMPARISON_SCRIPT = ROOT / "scripts" / "compare_reference.py"
FIXTURE = ROOT / "tests" / "data" / "manual_rnn_fixture.label"
#: The one configuration the NumPy RNN computes, whatever the `RNNConfig` defaults.
REPRESENTABLE = {
    "num_layers": 1, "bidirectional": False, "nonlinearity": "tanh", "pooling": "last", "label_smoothing": 0.0
}  # fmt: skip


def padded_batch(seed: int, padding: str, batch_size: int = 5, length: int = 7, vocab_size: int = 20):
    """Random ids (pad id 0) with a mask of varying lengths, padded on the `left`, the `right`, or `mixed` sides."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, length + 1, batch_size)
    lengths[0] = length
    mask = np.zeros((batch_size, length), dtype=np.int64)
    for row, size in enumerate(lengths):
        side = padding if padding != "mixed" else ("left", "right")[row % 2]
        if side == "left":
            mask[row, length - size :] = 1
        else:
            mask[row, :size] = 1
    input_ids = rng.integers(1, vocab_size, (batch_size, length)) * mask
    labels = rng.integers(0, 3, batch_size)
    return input_ids, mask, labels


def random_library_model(seed: int = 0, **config_kwargs) -> RNNForSequenceClassification:
    """A library RNN with every weight random (biases included), the padding row zero, in eval mode."""
    torch.manual_seed(seed)
    config = RNNConfig(vocab_size=20, embedding_dim=6, hidden_size=8, num_labels=3, **REPRESENTABLE, **config_kwargs)
    model = RNNForSequenceClassification(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.5)
        model.encoder.embeddings.weight[config.pad_token_id] = 0.0
    return model.eval()


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(actual) + np.linalg.norm(expected), 1e-30))


def test_reference_file_imports_numpy_only_and_runs_without_torch():
    tree = ast.parse(REFERENCE_FILE.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported <= {"__future__", "math", "dataclasses", "typing", "numpy"}, imported
    relative = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level > 0]
    assert not relative, relative  # nothing else of hf_rnn
    script = f"""
import importlib.util, sys
import numpy as np
sys.modules["torch"] = None  # any attempt to import torch now raises ImportError
spec = importlib.util.spec_from_file_location("manual_rnn", {str(REFERENCE_FILE)!r})
module = importlib.util.module_from_spec(spec)
sys.modules["manual_rnn"] = module
spec.loader.exec_module(module)
model = module.ManualRNN.initialise(20, 4, 5, 3)
loss, grads = model.loss_and_gradients(np.array([[3, 4, 0]]), np.array([[1, 1, 0]]), np.array([1]))
module.Adam(model.params).step(grads)
print("ran", round(loss, 6) > 0)
"""
    completed = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ran True"


def imported_modules(first: str, then: str) -> tuple[set[str], set[str]]:
    """In a fresh interpreter: the names in `sys.modules` after importing `first`, and those importing `then` adds."""
    script = (
        f"import json, sys\nimport {first}\nbefore = set(sys.modules)\nimport {then}\n"
        "print(json.dumps([sorted(before), sorted(set(sys.modules) - before)]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120, env=subprocess_env()
    )
    assert completed.returncode == 0, completed.stderr
    before, added = json.loads(completed.stdout.splitlines()[-1])
    return set(before), set(added)


def top_level(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


def test_importing_numpy_rnn_imports_no_torch():
    package, added = imported_modules("hf_rnn", "hf_rnn.reference.numpy_rnn")  # the parent package runs first
    assert not top_level(added) & {"torch", "transformers", "datasets", "tokenizers", "accelerate"}, sorted(added)
    assert {name for name in added if name.startswith("hf_rnn")} == {"hf_rnn.reference", "hf_rnn.reference.numpy_rnn"}
    if "torch" not in package:  # today `import hf_rnn` registers the torch models, so torch is there already
        assert "torch" not in package | added


def test_importing_convert_loads_no_training_stack():
    modeling, added = imported_modules("hf_rnn.modeling_hf_rnn", "hf_rnn.reference.convert")
    for name in ("hf_rnn.training", "hf_rnn.trainer", "transformers.trainer", "datasets"):
        assert name not in modeling | added, name
    assert {name for name in added if name.startswith("hf_rnn")} <= {
        "hf_rnn.reference",
        "hf_rnn.reference.convert",
        "hf_rnn.reference.numpy_rnn",
    }, sorted(added)
    assert "accelerate" not in top_level(added), sorted(added)
    if "accelerate" not in modeling:  # transformers' `modeling_utils` imports accelerate whenever it is installed
        assert "accelerate" not in added


@pytest.mark.parametrize("padding", ["left", "right", "mixed"])
def test_gradients_match_central_finite_differences(padding):
    model = ManualRNN.initialise(vocab_size=12, embedding_dim=4, hidden_size=5, num_labels=3, seed=1)
    model.params["c"][:] = [0.3, -0.2, 0.1]
    input_ids, mask, labels = padded_batch(seed=2, padding=padding, vocab_size=12)
    _, grads = model.loss_and_gradients(input_ids, mask, labels)
    step = 1e-5
    for name in PARAMETER_NAMES:
        param = model.params[name]
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            original = param[index]
            param[index] = original + step
            plus = model.loss_and_gradients(input_ids, mask, labels)[0]
            param[index] = original - step
            minus = model.loss_and_gradients(input_ids, mask, labels)[0]
            param[index] = original
            numeric[index] = (plus - minus) / (2 * step)
        assert np.linalg.norm(grads[name]) > 0, name
        assert relative_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("padding", ["left", "right", "mixed"])
def test_loss_and_gradients_match_torch_autograd(padding):
    library = random_library_model()
    input_ids, mask, labels = padded_batch(seed=3, padding=padding)
    mask[-1] = 0  # reads the padding token, whose embedding row gets no gradient (`padding_idx`)
    output = library(torch.from_numpy(input_ids), torch.from_numpy(mask), labels=torch.from_numpy(labels))
    output.loss.backward()
    manual = from_hf(library)
    assert manual.dtype == np.float32
    loss, grads = manual.loss_and_gradients(input_ids, mask, labels)
    assert abs(loss - output.loss.item()) < 1e-5 * abs(loss)
    library_params = dict(library.named_parameters())
    for name, hf_name in HF_NAMES.items():
        expected = library_params[hf_name].grad.numpy()
        assert grads[name].dtype == np.float32
        assert relative_error(grads[name], expected) < 1e-5, name


@pytest.mark.parametrize("padding", ["left", "right", "mixed"])
def test_logits_after_from_hf_equal_library_logits(padding):
    library = random_library_model(seed=4)
    input_ids, mask, _ = padded_batch(seed=5, padding=padding)
    mask[-1] = 0  # a row without any real token reads its first token in both
    with torch.no_grad():
        expected = library(torch.from_numpy(input_ids), torch.from_numpy(mask)).logits.numpy()
    for dtype in (np.float32, np.float64):
        actual = from_hf(library, dtype=dtype).logits(input_ids, mask)
        assert np.abs(actual - expected).max() < 1e-5


def test_an_empty_batch_reads_one_padding_token_like_the_library():
    library = random_library_model(seed=4)
    empty = np.zeros((2, 0), dtype=np.int64)
    with torch.no_grad():
        expected = library(torch.from_numpy(empty), torch.from_numpy(empty)).logits.numpy()
    assert np.abs(from_hf(library).logits(empty, empty) - expected).max() < 1e-5
    assert np.abs(expected - library.classifier.bias.detach().numpy()).max() > 1e-2  # not merely the bias


def test_padding_changes_no_state_and_no_gradient():
    model = ManualRNN.initialise(vocab_size=20, embedding_dim=4, hidden_size=6, num_labels=3, seed=6)
    rng = np.random.default_rng(7)
    tokens = rng.integers(1, 20, (3, 4))
    labels = np.array([0, 2, 1])
    pad = np.zeros((3, 3), dtype=np.int64)
    layouts = {
        "unpadded": (tokens, np.ones_like(tokens)),
        "left": (np.hstack([pad, tokens]), np.hstack([pad, np.ones_like(tokens)])),
        "right": (np.hstack([tokens, pad]), np.hstack([np.ones_like(tokens), pad])),
    }
    reference_logits = model.logits(*layouts["unpadded"])
    _, reference_grads = model.loss_and_gradients(*layouts["unpadded"], labels)
    for input_ids, mask in layouts.values():
        assert np.allclose(model.logits(input_ids, mask), reference_logits, rtol=0, atol=1e-13)
        _, grads = model.loss_and_gradients(input_ids, mask, labels)
        for name in PARAMETER_NAMES:
            assert np.allclose(grads[name], reference_grads[name], rtol=0, atol=1e-13), name


def test_to_hf_round_trip_copies_weights_and_keeps_logits():
    library = random_library_model(seed=8)
    manual = from_hf(library)
    saved = manual.params["W"].copy()
    manual.params["W"] += 1.0  # a copy: the library model must not change
    assert np.array_equal(library.encoder.layers[0].weight_hh_l0.detach().numpy(), saved)
    manual.params["W"][:] = saved
    labels = {"id2label": {0: "a", 1: "b", 2: "c"}, "label2id": {"a": 0, "b": 1, "c": 2}}
    rebuilt = to_hf(manual, **labels)
    assert isinstance(rebuilt, RNNForSequenceClassification)
    assert rebuilt.config.id2label == labels["id2label"] and rebuilt.config.pad_token_id == 0
    original, copied = library.state_dict(), rebuilt.state_dict()
    assert original.keys() == copied.keys()
    for key in original:
        assert torch.equal(original[key], copied[key]), key
    input_ids, mask, _ = padded_batch(seed=9, padding="mixed")
    with torch.no_grad():
        logits = rebuilt(torch.from_numpy(input_ids), torch.from_numpy(mask)).logits.numpy()
    assert np.abs(logits - manual.logits(input_ids, mask)).max() < 1e-5


@pytest.mark.parametrize(
    ("config_kwargs", "option"),
    [
        ({"bidirectional": True}, "bidirectional"),
        ({"num_layers": 2}, "num_layers"),
        ({"nonlinearity": "relu"}, "nonlinearity"),
        ({"pooling": "mean"}, "pooling"),
        ({"pooling": "attention"}, "pooling"),
        ({"problem_type": "regression"}, "problem_type"),
    ],
)
def test_from_hf_rejects_configs_it_cannot_represent(config_kwargs, option):
    config = RNNConfig(vocab_size=20, embedding_dim=4, hidden_size=4, **{**REPRESENTABLE, **config_kwargs})
    model = RNNForSequenceClassification(config)
    with pytest.raises(ValueError, match=f"cannot represent {option}="):
        from_hf(model)


def test_from_hf_rejects_other_families():
    model = GRUForSequenceClassification(GRUConfig(vocab_size=20, embedding_dim=4, hidden_size=4))
    with pytest.raises(TypeError, match="RNNForSequenceClassification only, got GRUForSequenceClassification"):
        from_hf(model)


@pytest.mark.parametrize(
    ("dtype", "options", "tolerance"),
    [
        (np.float64, {}, 1e-12),
        (np.float32, {}, 1e-6),
        (np.float64, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}, 1e-12),
    ],
)
def test_adam_steps_equal_torch_adam(dtype, options, tolerance):
    rng = np.random.default_rng(10)
    shapes = {"E": (6, 3), "W": (4, 4), "c": (2,)}
    params = {name: rng.normal(size=shape).astype(dtype) for name, shape in shapes.items()}
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    manual, reference = Adam(params, **options), torch.optim.Adam(list(tensors.values()), **options)
    for _ in range(5):
        grads = {name: rng.normal(size=shape).astype(dtype) for name, shape in shapes.items()}
        for name, tensor in tensors.items():
            tensor.grad = torch.from_numpy(grads[name].copy())
        manual.step(grads)
        reference.step()
        for name, tensor in tensors.items():
            assert relative_error(params[name], tensor.detach().numpy()) < tolerance, name


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_equals_torch(max_norm):
    rng = np.random.default_rng(11)
    grads = {"U": rng.normal(size=(4, 3)), "c": rng.normal(size=3)}
    tensors = [torch.tensor(grad, requires_grad=True) for grad in grads.values()]
    for tensor, grad in zip(tensors, grads.values()):
        tensor.grad = torch.from_numpy(grad.copy())
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = clip_grad_norm(grads, max_norm)
    assert abs(norm - expected_norm.item()) < 1e-12
    for tensor, grad in zip(tensors, grads.values()):
        assert np.allclose(grad, tensor.grad.numpy(), rtol=1e-14, atol=0)
    clipped_norm = np.sqrt(sum((grad**2).sum() for grad in grads.values()))
    assert np.isclose(clipped_norm, min(norm, max_norm), rtol=1e-5)


def test_softmax_cross_entropy_is_stable_for_large_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    loss, grad = softmax_cross_entropy(logits, np.array([1, 2]))
    assert np.isclose(loss, (1000.0 + np.log(3)) / 2)
    assert np.allclose(grad, np.array([[1.0, -1.0, 0.0], [1 / 3, 1 / 3, -2 / 3]]) / 2)


def test_to_hf_pins_the_representable_configuration():
    manual = ManualRNN.initialise(vocab_size=20, embedding_dim=4, hidden_size=5, num_labels=3, seed=14)
    config = to_hf(manual).config
    assert {name: getattr(config, name) for name in REPRESENTABLE} == REPRESENTABLE
    assert config.embedding_dropout == config.word_dropout == config.classifier_dropout == 0.0
    assert config.recurrent_weight_dropout == 0.0  # the RNN family's default is 0.3
    assert config.adversarial_epsilon == 0.0  # the loss is the NumPy RNN's plain cross-entropy
    with pytest.raises(ValueError, match="cannot represent bidirectional="):
        to_hf(manual, bidirectional=True)


def test_one_epoch_on_the_fixture_lowers_the_loss():
    train = DataArguments(train_file=str(FIXTURE)).load_splits()["train"]
    tokenizer = train_tokenizer(train["text"])
    everything = tokenizer(list(train["text"]), truncation=True, max_length=64, padding=True, return_tensors="np")
    labels = np.asarray(train["label"])
    model = ManualRNN.initialise(len(tokenizer), embedding_dim=16, hidden_size=16, num_labels=6, seed=12)
    optimizer = Adam(model.params, lr=3e-2)

    def full_loss() -> float:
        return model.loss_and_gradients(everything["input_ids"], everything["attention_mask"], labels)[0]

    before = full_loss()
    order = np.random.default_rng(13).permutation(len(train))
    for start in range(0, len(order), 4):
        rows = order[start : start + 4]
        batch = tokenizer([train["text"][row] for row in rows], padding=True, return_tensors="np")
        train_step(model, optimizer, batch["input_ids"], batch["attention_mask"], labels[rows], max_grad_norm=1.0)
    assert full_loss() < before - 0.1  # from about ln 6 = 1.79
    assert not model.params["E"][tokenizer.pad_token_id].any()  # the padding row stays zero


def test_comparison_script_trains_both_models_on_one_trajectory(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_RNN_TREC_TRAIN", str(FIXTURE))  # the script's default data, hf_rnn.data.trec
    argv = ["--embedding_dim", "8", "--hidden_size", "8", "--num_epochs", "2"]
    argv += ["--batch_size", "8", "--dtype", "float64", "--num_threads", "1", "--output_dir", str(tmp_path)]
    runpy.run_path(str(COMPARISON_SCRIPT))["main"](argv)
    report = json.loads((tmp_path / "manual_rnn.json").read_text())
    assert report["command"] == "python scripts/compare_reference.py " + " ".join(argv)
    assert report["data"]["train_file"] == str(FIXTURE)
    assert report["data"]["train_size"] == 36 and report["data"]["test_size"] == 6
    assert report["settings"]["bidirectional"] is False and report["settings"]["pooling"] == "last"
    for manual, library in zip(report["manual"]["epochs"], report["library"]["epochs"], strict=True):
        assert abs(manual["train_loss"] - library["train_loss"]) < 1e-9  # same start, same batches, float64
        assert manual["validation_accuracy"] == library["validation_accuracy"]
        assert manual["seconds"] > 0 and library["seconds"] > 0
    assert report["manual"]["test_accuracy"] == report["library"]["test_accuracy"]
    markdown = (tmp_path / "manual_rnn.md").read_text()
    assert report["command"] in markdown and "| ManualRNN (NumPy) |" in markdown
    assert "library epoch 2: loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "option", [["--model_type", "gru"], ["--pooling", "mean"], ["--nonlinearity", "relu"], ["--num_layers", "2"]]
)
def test_comparison_script_rejects_options_the_numpy_rnn_cannot_compute(option, capsys):
    with pytest.raises(SystemExit):
        runpy.run_path(str(COMPARISON_SCRIPT))["main"](["--train_file", str(FIXTURE), *option])
    assert "the NumPy RNN computes" in capsys.readouterr().err
