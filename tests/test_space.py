"""
The Gradio Space of a pushed model (`hf-rnn push --space USER/NAME`, `hf_rnn.space`): its files, the push through the
real `huggingface_hub` client to the loopback Hub (`tests/hub_server.py`), and the Space's `app.py` run as the Hub
would run it, without `hf_rnn`, answering `/predict` through `gradio_client`.
"""

import ast
import io
import json
import select
import socket
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml
from huggingface_hub import constants

from hf_rnn.cli import main
from hf_rnn.hub import REPO_FILES, PushError, push_model
from hf_rnn.space import SPACE_FILES, space_files

from .hub_server import HubServer
from .test_export import train_tiny
from .test_hub import WITHOUT_HF_RNN, hub_env


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("space") / "tiny-lstm")


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A loopback Hub this process pushes to, logged in."""
    with HubServer() as server:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
        yield server


def front_matter(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme[4 : readme.index("\n---\n", 4)])


def test_space_files_load_the_pushed_commit_with_its_remote_code():
    files = {path: content.decode() for path, content in space_files("user/tiny-lstm", revision="abc123").items()}
    assert set(files) == set(SPACE_FILES)
    app = files["app.py"]
    ast.parse(app)
    assert "MODEL_ID = 'user/tiny-lstm'" in app and "REVISION = 'abc123'" in app
    assert "from_pretrained(MODEL_ID, revision=REVISION, trust_remote_code=True)" in app
    header = front_matter(files["README.md"])
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py" and header["models"] == ["user/tiny-lstm"]
    requirements = files["requirements.txt"].split()
    assert [line.split(">=")[0] for line in requirements] == ["torch", "transformers", "numpy"]
    # The demo module travels without hf_rnn: nothing at its top level imports the package.
    tree = ast.parse(files["hf_rnn_demo.py"])
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in top_level)
    assert all("hf_rnn" not in alias.name for node in top_level for alias in node.names)


def test_push_with_space_creates_the_space_for_the_pushed_commit(hub, model_dir):
    output = io.StringIO()
    with redirect_stdout(output):
        main(["push", "--model_name_or_path", str(model_dir), "--repo_id", "user/tiny-lstm", "--space", "user/demo"])
    model_url, space_url = output.getvalue().split()
    assert space_url == f"{hub.url}/spaces/user/demo"
    model_repo, space = hub.repos["user/tiny-lstm"], hub.repos["spaces/user/demo"]
    assert model_url.endswith(model_repo.branches["main"])
    assert set(hub.files("user/tiny-lstm")) == set(REPO_FILES) | {".gitattributes"}
    files = hub.files("spaces/user/demo")
    assert set(files) == set(SPACE_FILES) | {".gitattributes"} and space.sdk == "gradio"
    assert f"REVISION = {model_repo.branches['main']!r}" in files["app.py"].decode()
    assert not hub.unhandled


def test_bare_space_name_fails_before_anything_is_pushed(hub, model_dir):
    with pytest.raises(PushError, match="expected USER/NAME"):
        push_model(model_dir, "user/tiny-lstm", space_id="demo")
    assert hub.repos == {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_space_app_runs_without_hf_rnn_and_answers_predict(hub, model_dir, tmp_path):
    push_model(model_dir, "user/tiny-lstm", space_id="user/demo")
    space_dir = tmp_path / "space"
    space_dir.mkdir()
    for path, content in hub.files("spaces/user/demo").items():
        (space_dir / path).write_bytes(content)
    port = free_port()
    env = hub_env(hub, tmp_path / "child-home")
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    script = (
        WITHOUT_HF_RNN
        + "\nimport runpy\nprint('starting', flush=True)\nrunpy.run_path('app.py', run_name='__main__')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=space_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        from gradio_client import Client

        deadline = time.monotonic() + 90
        client = None
        while client is None and time.monotonic() < deadline and process.poll() is None:
            select.select([], [], [], 0.5)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except OSError:
                continue
        assert client is not None, process.stderr.read()[-3000:] if process.poll() is not None else "no page in 90 s"
        answer = client.predict("Who wrote Hamlet ?", api_name="/predict")
        assert answer["label"] in json.loads((model_dir / "config.json").read_text())["label2id"]
        assert len(answer["confidences"]) == 6
    finally:
        process.terminate()
        process.wait(timeout=30)
    pinned = f"/user/tiny-lstm/resolve/{hub.repos['user/tiny-lstm'].branches['main']}/"
    assert any(path.startswith(pinned) and path.endswith("modeling_hf_rnn.py") for _, path in hub.requests)
