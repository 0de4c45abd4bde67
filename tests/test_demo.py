"""
The live demo (`hf-rnn demo`, `hf_rnn.demo`): the words' weights (attention pooling, occlusion otherwise and for
exported models), and the page started as a real `hf-rnn demo` process on loopback and called through `gradio_client`.
"""

import json
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
gradio_client = pytest.importorskip("gradio_client", reason="the demo extra is not installed")

from hf_rnn.cli import main  # noqa: E402
from hf_rnn.command_args import DemoArguments  # noqa: E402
from hf_rnn.demo import Explainer, build_demo  # noqa: E402
from hf_rnn.inference import load_classifier  # noqa: E402

from .conftest import REPO_ROOT, subprocess_env  # noqa: E402
from .test_export import train_tiny  # noqa: E402

TEXT = "Who wrote  Hamlet ?"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("demo")
    return {"attention": train_tiny(root / "lstm"), "mean": train_tiny(root / "gru", "gru", pooling="mean")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def words_of(pieces: list) -> list[tuple[str, float]]:
    return [(text, weight) for text, weight in pieces if weight is not None]


def test_attention_weights_are_the_pooling_layers(models):
    model, tokenizer = load_classifier(models["attention"])
    explainer = Explainer(model, tokenizer)
    assert explainer.method == "attention"
    pieces = explainer.explain(TEXT)
    assert "".join(text for text, _ in pieces) == TEXT  # the text, cut into words and the spaces between them
    words = words_of(pieces)
    assert [text for text, _ in words] == ["Who", "wrote", "Hamlet", "?"]
    # The weights, computed here from the encoder's outputs with the pooling layer's own parameters.
    encoded = tokenizer(TEXT, return_tensors="pt")
    attention = model.encoder.attention
    with torch.inference_mode():
        outputs = model.encoder(**encoded).last_hidden_state
        weights = torch.softmax(attention.score(torch.tanh(attention.projection(outputs))).squeeze(-1), dim=-1)[0]
    np.testing.assert_allclose([weight for _, weight in words], (weights / weights.max()).numpy(), atol=1e-3)
    scores = explainer.classify(TEXT)
    assert set(scores) == set(model.config.label2id) and sum(scores.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("exported", [False, True])
def test_occlusion_for_other_poolings_and_exported_models(models, exported, tmp_path):
    directory = models["mean"] if not exported else tmp_path / "onnx"
    if exported:
        pytest.importorskip("onnxruntime")
        from hf_rnn.export import export_onnx

        export_onnx(models["attention"], directory)  # attention pooling, but an ONNX graph: occlusion
    model, tokenizer = load_classifier(directory)
    explainer = Explainer(model, tokenizer)
    assert explainer.method == "occlusion"
    words = words_of(explainer.explain(TEXT))
    assert [text for text, _ in words] == ["Who", "wrote", "Hamlet", "?"]
    # Each word's drop of the top label's score when it is masked out, scaled by the largest drop.
    encoded = tokenizer(TEXT, return_tensors="pt")
    with torch.inference_mode():
        full = model(**encoded).logits.softmax(-1)[0]
        best = int(full.argmax())
        drops = []
        for position in range(encoded["input_ids"].shape[1]):
            mask = encoded["attention_mask"].clone()
            mask[0, position] = 0
            drops.append(
                float(
                    full[best] - model(input_ids=encoded["input_ids"], attention_mask=mask).logits.softmax(-1)[0, best]
                )
            )
    drops = np.array(drops)
    np.testing.assert_allclose([weight for _, weight in words], drops / np.abs(drops).max(), atol=1e-3)


def test_demo_defaults_stay_on_loopback():
    args = DemoArguments(model_name_or_path="model")
    assert (args.server_name, args.share) == ("127.0.0.1", False)


def test_hf_rnn_demo_serves_predict_through_gradio_client(models, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "hf_rnn.cli", "demo", "--model_name_or_path", str(models["attention"])]
    process = subprocess.Popen(
        [*command, "--server_port", str(port), "--share", "false"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(HF_HOME=str(tmp_path / "home")),
        cwd=REPO_ROOT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while not line and time.monotonic() < deadline and process.poll() is None:
            if select.select([process.stdout], [], [], 1.0)[0]:
                line = process.stdout.readline()
        assert line, f"the demo did not start: {process.stderr.read()[-3000:] if process.poll() is not None else ''}"
        started = json.loads(line)
        assert started == {"local_url": f"http://127.0.0.1:{port}/", "share_url": None}
        client = gradio_client.Client(started["local_url"], verbose=False)
        answer = client.predict("Who wrote Hamlet ?", api_name="/predict")
        model, tokenizer = load_classifier(models["attention"])
        expected = Explainer(model, tokenizer).classify("Who wrote Hamlet ?")
        assert answer["label"] == max(expected, key=expected.get)
        assert {item["label"]: item["confidence"] for item in answer["confidences"]} == pytest.approx(expected)
        words = client.predict("Who wrote Hamlet ?", api_name="/explain")
        assert [item["token"] for item in words if item["class_or_confidence"] is not None] == [
            "Who",
            "wrote",
            "Hamlet",
            "?",
        ]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_build_demo_has_the_two_endpoints(models):
    model, tokenizer = load_classifier(models["mean"])
    demo = build_demo(model, tokenizer)
    names = {dependency.api_name for dependency in demo.fns.values() if dependency.api_visibility == "public"}
    assert names == {"predict", "explain"}


def test_missing_gradio_is_one_line(models, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--model_name_or_path", str(models["mean"])])
    assert exited.value.code == 1
    error = capsys.readouterr().err.strip()
    assert error == 'hf-rnn demo: error: hf-rnn demo needs gradio, which is not installed: pip install "hf_rnn[demo]"'
