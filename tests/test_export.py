"""
ONNX export (`hf-rnn export`, `hf_rnn.export`) and ONNX Runtime inference through `hf_rnn.inference`: the exported
directory, logits equal to PyTorch's on either padding side for every family and pooling, every question of the real
TREC training file at batch sizes 1 and 64, int8 quantization, the commands on an exported directory, top-k, and the
one-line errors.
"""

import io
import json
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the export extra is not installed (pip install -e '.[export]')")
onnx = pytest.importorskip("onnx", reason="the export extra is not installed (pip install -e '.[export]')")

from transformers import pipeline  # noqa: E402

from hf_rnn import ARCHITECTURES  # noqa: E402
from hf_rnn.cli import main  # noqa: E402
from hf_rnn.export import ExportError, export_onnx  # noqa: E402
from hf_rnn.inference import ModelLoadError, load_classifier, predict, predict_proba  # noqa: E402
from hf_rnn.onnx_model import OnnxClassifier  # noqa: E402
from hf_rnn.optional import MissingExtraError, require  # noqa: E402
from hf_rnn.tokenization import train_tokenizer  # noqa: E402
from hf_rnn.training import train  # noqa: E402
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments  # noqa: E402

from .conftest import TESTS_DATA, padded  # noqa: E402

TINY_FILE = TESTS_DATA / "tiny_trec.label"
QUESTIONS = ["Who wrote Hamlet ?", "What is the capital of Australia ?", "How many legs does a spider have ?", ""]


def read_questions(path: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in path.read_bytes().decode("latin-1").splitlines() if line.strip()]


def train_tiny(output_dir: Path, model_type: str = "lstm", **model: object) -> Path:
    """A tiny model trained for 2 epochs on `tests/data/tiny_trec.label` with the hf_rnn API (about a second)."""
    train(
        ModelArguments(model_type=model_type, embedding_dim=16, hidden_size=16, **model),
        DataArguments(train_file=str(TINY_FILE), validation_fraction=0.2, test_fraction=0.2),
        RecurrentTrainingArguments(
            output_dir=str(output_dir),
            num_train_epochs=2,
            learning_rate=1e-2,
            per_device_train_batch_size=16,
            seed=0,
            report_to="none",
            disable_tqdm=True,
        ),
    )
    return output_dir


def save_random_model(output_dir: Path, texts: list[str], model_type: str = "lstm", **config: object) -> Path:
    """An untrained model (seeded) with a word tokenizer of `texts`, saved as `hf-rnn train` saves one."""
    config_class, _, classifier_class = ARCHITECTURES[model_type]
    tokenizer = train_tokenizer(texts)
    torch.manual_seed(0)
    model = classifier_class(config_class(vocab_size=len(tokenizer), num_labels=6, **config))
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def tiny_lstm(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("export") / "tiny-lstm")


@pytest.fixture(scope="module")
def exported(tiny_lstm, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exported")
    export_onnx(tiny_lstm, root / "fp32")
    export_onnx(tiny_lstm, root / "int8", quantize="int8")
    return {"fp32": root / "fp32", "int8": root / "int8"}


def run_cli(*argv: str) -> list[dict]:
    output = io.StringIO()
    with redirect_stdout(output):
        main(list(argv))
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]


def assert_same_answers(found: list, expected: list) -> None:
    """Two lists of `{"label", "score"}` answers (or lists of them): same labels, scores within 1e-5."""
    assert len(found) == len(expected)
    for mine, theirs in zip(found, expected):
        if isinstance(theirs, list):
            assert_same_answers(mine, theirs)
        else:
            assert mine["label"] == theirs["label"] and mine["score"] == pytest.approx(theirs["score"], abs=1e-5)


def test_exported_directory_is_a_model_directory(tiny_lstm, exported):
    out = exported["fp32"]
    names = {path.name for path in out.iterdir()}
    assert names == {
        "model.onnx",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "README.md",
        "training_curve.png",
        "confusion_matrix.png",
        "results.json",
    }
    config = json.loads((out / "config.json").read_text())
    original = json.loads((tiny_lstm / "config.json").read_text())
    assert "auto_map" not in config and config == {k: v for k, v in original.items() if k != "auto_map"}
    assert (out / "tokenizer.json").read_bytes() == (tiny_lstm / "tokenizer.json").read_bytes()
    assert "## ONNX export" in (out / "README.md").read_text()
    graph = onnx.load(str(out / "model.onnx")).graph
    shapes = {
        value.name: [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]
        for value in (*graph.input, *graph.output)
    }
    assert shapes == {
        "input_ids": ["batch", "sequence"],
        "attention_mask": ["batch", "sequence"],
        "logits": ["batch", 6],
    }
    assert "LSTM" in {node.op_type for node in graph.node}  # one recurrent node, not an unrolled loop


@pytest.mark.parametrize(
    ("model_type", "config"),
    [
        ("lstm", {}),  # the defaults: bidirectional, attention pooling
        ("gru", {"pooling": "mean", "num_layers": 2}),
        ("rnn", {"pooling": "last", "bidirectional": True}),
        ("rnn", {"pooling": "max", "bidirectional": False, "nonlinearity": "relu"}),
        ("lstm", {"pooling": "last", "bidirectional": False}),
    ],
)
def test_onnx_logits_equal_pytorch_on_either_padding_side(model_type, config, tmp_path):
    texts = read_questions(TINY_FILE)
    model_dir = save_random_model(tmp_path / "model", texts, model_type, embedding_dim=12, hidden_size=10, **config)
    export_onnx(model_dir, tmp_path / "onnx")
    model, tokenizer = load_classifier(model_dir)
    onnx_model, _ = load_classifier(tmp_path / "onnx")
    assert isinstance(onnx_model, OnnxClassifier)
    batches = [padded(tokenizer, texts[:17], "right"), padded(tokenizer, texts[:17], "left")]
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(2, len(tokenizer), (6, 11), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, :4] = 0  # left
    attention_mask[1, 7:] = 0  # right
    attention_mask[2, :2], attention_mask[2, 9:] = 0, 0  # both sides
    attention_mask[3, ::2] = 0  # holes
    attention_mask[4] = 0  # nothing
    batches += [
        {"input_ids": input_ids, "attention_mask": attention_mask},
        {"input_ids": input_ids[:1, :1], "attention_mask": attention_mask[:1, :1]},
    ]
    with torch.inference_mode():
        for batch in batches:
            expected = model(**batch).logits.numpy()
            found = onnx_model.logits(batch["input_ids"].numpy(), batch["attention_mask"].numpy())
            np.testing.assert_allclose(found, expected, atol=1e-5, rtol=0)
        empty = np.zeros((2, 0), dtype=np.int64)  # what padding a batch of empty texts gives
        np.testing.assert_allclose(
            onnx_model.logits(empty, empty), model(input_ids=torch.zeros(2, 0, dtype=torch.long)).logits, atol=1e-5
        )


def test_every_trec_question_at_batch_1_and_64(trec_train_file, tmp_path):
    """ONNX logits within 1e-4 of PyTorch's on all questions of the TREC training file (default-size LSTM)."""
    questions = read_questions(trec_train_file)
    model_dir = save_random_model(tmp_path / "model", questions, "lstm")  # the config's defaults
    export_onnx(model_dir, tmp_path / "onnx")
    model, tokenizer = load_classifier(model_dir)
    onnx_model, _ = load_classifier(tmp_path / "onnx")
    session = onnx_model.session
    encoded = [tokenizer(question)["input_ids"] for question in questions]
    order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
    start = time.perf_counter()
    worst = {}
    with torch.inference_mode():
        for side in ("right", "left"):
            tokenizer.padding_side = side
            for first in range(0, len(order), 64):
                rows = [encoded[index] for index in order[first : first + 64]]
                batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt")
                expected = model(**batch).logits.numpy()
                found = session.run(None, {name: tensor.numpy() for name, tensor in batch.items()})[0]
                worst[side] = max(worst.get(side, 0.0), float(np.abs(found - expected).max()))
        tokenizer.padding_side = "right"
        for ids in encoded:
            input_ids = torch.tensor([ids])
            attention_mask = torch.ones_like(input_ids)
            expected = model(input_ids=input_ids, attention_mask=attention_mask).logits.numpy()
            found = session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})[0]
            worst["batch 1"] = max(worst.get("batch 1", 0.0), float(np.abs(found - expected).max()))
    assert len(questions) == 5452
    assert max(worst.values()) <= 1e-4, worst
    assert time.perf_counter() - start < 60


def test_int8_export_is_quantized_and_close(exported):
    fp32, _ = load_classifier(exported["fp32"])
    int8, tokenizer = load_classifier(exported["int8"])
    assert (fp32.quantization, int8.quantization) == ("fp32", "int8")
    ops = {node.op_type for node in onnx.load(str(exported["int8"] / "model.onnx")).graph.node}
    assert {"DynamicQuantizeLSTM", "MatMulInteger"} <= ops
    assert (exported["int8"] / "model.onnx").stat().st_size < 0.75 * (exported["fp32"] / "model.onnx").stat().st_size
    texts = read_questions(TINY_FILE)
    expected, found = predict_proba(fp32, tokenizer, texts), predict_proba(int8, tokenizer, texts)
    assert np.abs(found - expected).max() < 0.02
    assert (found.argmax(-1) == expected.argmax(-1)).mean() >= 0.9


def test_inference_and_commands_take_the_exported_directory(tiny_lstm, exported):
    model, tokenizer = load_classifier(tiny_lstm)
    onnx_model, _ = load_classifier(exported["fp32"])
    np.testing.assert_allclose(
        predict_proba(onnx_model, tokenizer, QUESTIONS), predict_proba(model, tokenizer, QUESTIONS), atol=1e-6
    )
    assert_same_answers(predict(onnx_model, tokenizer, QUESTIONS), predict(model, tokenizer, QUESTIONS))
    scores = {}
    for name, directory in (("pytorch", tiny_lstm), ("onnx", exported["fp32"])):
        (scores[name],) = run_cli("evaluate", "--model_name_or_path", str(directory), "--test_file", str(TINY_FILE))
    assert scores["onnx"]["accuracy"] == scores["pytorch"]["accuracy"] and scores["onnx"]["n"] == 60
    lines = run_cli("predict", "--model_name_or_path", str(exported["int8"]), "--top_k", "3", *QUESTIONS[:2])
    assert [line["text"] for line in lines] == QUESTIONS[:2]
    for line in lines:
        labels = line["labels"]
        assert len(labels) == 3 and [item["score"] for item in labels] == sorted(
            (item["score"] for item in labels), reverse=True
        )


def test_top_k_matches_the_pipeline(tiny_lstm):
    model, tokenizer = load_classifier(tiny_lstm)
    classifier = pipeline("text-classification", model=str(tiny_lstm), top_k=3)
    assert_same_answers(predict(model, tokenizer, QUESTIONS[:3], top_k=3), classifier(QUESTIONS[:3]))
    everything = predict(model, tokenizer, QUESTIONS[:1], top_k=50)[0]
    assert len(everything) == 6 and sum(item["score"] for item in everything) == pytest.approx(1.0, abs=1e-5)
    (line,) = run_cli("predict", "--model_name_or_path", str(tiny_lstm), "--top_k", "2", QUESTIONS[0])
    assert_same_answers(line["labels"], predict(model, tokenizer, QUESTIONS[:1], top_k=2)[0])
    with pytest.raises(ValueError, match="top_k"):
        predict(model, tokenizer, QUESTIONS, top_k=0)


def test_forward_exports_without_a_data_dependent_branch(tiny_lstm):
    """`torch.export` traces the classifier: the traced path has no host copy or data-dependent Python branch."""
    model, tokenizer = load_classifier(tiny_lstm)
    batch = padded(tokenizer, QUESTIONS[:3], "left")
    program = torch.export.export(model, (), kwargs=dict(batch), strict=False)
    with torch.inference_mode():
        expected = model(**batch).logits
    found = program.module()(**batch).logits
    torch.testing.assert_close(found, expected, atol=1e-5, rtol=0)


def test_failures_are_one_line(tiny_lstm, exported, tmp_path, monkeypatch, capsys):
    with pytest.raises(ExportError, match="already an exported"):
        export_onnx(exported["fp32"], tmp_path / "again")
    with pytest.raises(ExportError, match="is the model directory"):
        export_onnx(tiny_lstm, tiny_lstm)
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in exported["fp32"].iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match=r"model\.onnx: cannot be loaded"):
        load_classifier(broken)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError) as raised:
        require("onnxruntime", "export", "hf-rnn export")
    assert str(raised.value) == 'hf-rnn export needs onnxruntime, which is not installed: pip install "hf_rnn[export]"'
    with pytest.raises(SystemExit) as exited:
        main(["predict", "--model_name_or_path", str(exported["fp32"]), "Who ?"])
    assert exited.value.code == 1
    error = capsys.readouterr().err.strip()
    assert error.endswith('pip install "hf_rnn[export]"') and "\n" not in error
