"""
Hub sharing: what a trained model directory and a pushed repo contain, loading without `hf_rnn` in a fresh process,
pushes through the real `huggingface_hub` client to a Hub-compatible endpoint on loopback (`tests/hub_server.py`),
failed pushes, and no Hub call at all unless pushing.
"""

import ast
import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import constants

from hf_rnn.hub import MODEL_FILES, REPO_FILES, TOKENIZER_FILES, PushError, push_model
from hf_rnn.inference import load_classifier

from .conftest import REPO_ROOT, subprocess_env
from .hub_server import HubServer
from .test_model_card import QUESTIONS_FILE, train_tiny_model

QUESTIONS = ["What does NASA stand for ?", "Who painted the Mona Lisa ?", "How many legs does a spider have ?"]
#: Local training metadata that `train` leaves beside the repo files and that is never pushed.
LOCAL_FILES = {
    "trainer_state.json",
    "run_fingerprint.json",
    "training_config.json",
    "training_args.bin",
    "all_results.json",
    "train_results.json",
    "eval_results.json",
    "test_results.json",
}

#: Prepended to child scripts that must not see `hf_rnn`: the (editable) install is made unimportable.
WITHOUT_HF_RNN = """
import sys
sys.modules["hf_rnn"] = None
try:
    import hf_rnn
except ImportError:
    pass
else:
    raise SystemExit("hf_rnn is importable in the child process")
"""

#: Loads each `(model, revision, tokenizer)` of argv[1] without hf_rnn and classifies the questions of argv[2];
#: prints `{"model@revision": {"class", "logits", "pipeline"}}`.
LOAD_SCRIPT = (
    WITHOUT_HF_RNN
    + """
import json
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

questions = json.loads(sys.argv[2])
results = {}
for name, revision, tokenizer_name in json.loads(sys.argv[1]):
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_name, revision=revision, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(name, revision=revision, trust_remote_code=True)
    with torch.inference_mode():
        logits = model(**tokenizer(questions, padding=True, return_tensors="pt")).logits
    classifier = pipeline(
        "text-classification", model=name, tokenizer=tokenizer_name, revision=revision, trust_remote_code=True
    )
    results[name + "@" + str(revision)] = {
        "class": type(model).__module__, "logits": logits.tolist(), "pipeline": classifier(questions),
    }
print(json.dumps(results))
"""
)


def snapshot(directory: Path) -> dict[str, str]:
    """Every file below `directory` with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def run_child(script: str, *args: str, env: dict[str, str], cwd: Path) -> dict:
    """Run `script` in a fresh interpreter; return the JSON object it prints last."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def hub_env(server: HubServer, home: Path) -> dict[str, str]:
    """A child environment that reaches `server` as the Hub, logged in, with its own empty cache."""
    env = subprocess_env(HF_ENDPOINT=server.url, HF_TOKEN="hf_test_token", HF_HOME=str(home))
    env.pop("HF_HUB_OFFLINE")
    return env


def expected_logits(model_dir: Path) -> torch.Tensor:
    model, tokenizer = load_classifier(model_dir)
    with torch.inference_mode():
        return model(**tokenizer(QUESTIONS, padding=True, return_tensors="pt")).logits


def check_loaded(result: dict, expected: torch.Tensor, labels: list[str]) -> None:
    assert result["class"].startswith("transformers_modules."), result["class"]  # the repo's code, not hf_rnn
    assert torch.equal(torch.tensor(result["logits"]), expected)
    probabilities = expected.softmax(dim=-1)
    for answer, row in zip(result["pipeline"], probabilities):
        assert answer["label"] == labels[int(row.argmax())]
        assert answer["score"] == pytest.approx(float(row.max()), abs=1e-6)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    output_dir = tmp_path_factory.mktemp("hub") / "tiny-lstm"
    train_tiny_model(output_dir, model_type="lstm")
    return output_dir


@pytest.fixture(scope="module")
def labels(model_dir) -> list[str]:
    config = json.loads((model_dir / "config.json").read_text())
    return [config["id2label"][str(index)] for index in range(len(config["id2label"]))]


def test_output_dir_holds_the_repo_files_and_local_metadata_only(model_dir):
    names = {path.name for path in model_dir.iterdir()}
    assert set(REPO_FILES) <= names
    checkpoints = {name for name in names if name.startswith("checkpoint-")}
    assert names - set(REPO_FILES) - checkpoints == LOCAL_FILES
    assert json.loads((model_dir / "config.json").read_text())["auto_map"] == {
        "AutoConfig": "configuration_hf_rnn.LSTMConfig",
        "AutoModelForSequenceClassification": "modeling_hf_rnn.LSTMForSequenceClassification",
    }


def test_saved_model_is_exactly_weights_config_code_and_tokenizer(model_dir, tmp_path):
    model, tokenizer = load_classifier(model_dir)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert {path.name for path in tmp_path.iterdir()} == set(MODEL_FILES + TOKENIZER_FILES)
    for name in ("configuration_hf_rnn.py", "modeling_hf_rnn.py"):  # the code needs only torch and transformers
        tree = ast.parse((tmp_path / name).read_text())
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0
        }
        assert imported <= {"torch", "transformers", "typing", "math", "__future__"}, (name, imported)


def test_fresh_process_without_hf_rnn_loads_the_saved_directory(model_dir, labels, tmp_path):
    env = subprocess_env(HF_HOME=str(tmp_path / "home"))
    results = run_child(
        LOAD_SCRIPT, json.dumps([[str(model_dir), None, str(model_dir)]]), json.dumps(QUESTIONS), env=env, cwd=tmp_path
    )
    check_loaded(results[f"{model_dir}@None"], expected_logits(model_dir), labels)


#: Pushes with hf_rnn installed, through every entry point; argv: model_dir, trainer_output_dir, questions file.
PUSH_SCRIPT = """
import json, sys
from hf_rnn.cli import main
from hf_rnn.hub import PushError, push_model
from hf_rnn.inference import load_classifier
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

model_dir, trainer_dir, questions_file = sys.argv[1:]
main(["push", "--model_name_or_path", model_dir, "--repo_id", "user/tiny-lstm", "--commit_message", "First push"])
push_model(model_dir, "user/tiny-lstm", revision="v1")
model, _ = load_classifier(model_dir)
model.push_to_hub("user/model-only")
try:
    push_model(model_dir, "refused/tiny-lstm")
except PushError as error:
    refused = str(error)
train(
    ModelArguments(model_type="rnn", embedding_dim=8, hidden_size=8),
    DataArguments(train_file=questions_file),
    RecurrentTrainingArguments(output_dir=trainer_dir, num_train_epochs=1, report_to="none", disable_tqdm=True,
                         push_to_hub=True, hub_model_id="tiny-trained"),
)
print(json.dumps({"refused": refused}))
"""


@pytest.fixture(scope="module")
def pushed(model_dir, tmp_path_factory):
    """Run the pushes against a fresh local Hub; yield the server, the child's report and the Trainer's output dir."""
    workdir = tmp_path_factory.mktemp("push")
    trainer_dir = workdir / "tiny-trained"
    with HubServer() as server:
        before = snapshot(model_dir)
        env = hub_env(server, workdir / "home")
        report = run_child(PUSH_SCRIPT, str(model_dir), str(trainer_dir), str(QUESTIONS_FILE), env=env, cwd=REPO_ROOT)
        assert snapshot(model_dir) == before  # pushing never writes to the model directory
        yield server, report, trainer_dir


def test_pushed_repo_holds_exactly_the_repo_files(pushed):
    server, _, _ = pushed
    assert set(server.files("user/tiny-lstm")) == set(REPO_FILES) | {".gitattributes"}
    assert set(server.files("user/tiny-lstm", "v1")) == set(REPO_FILES) | {".gitattributes"}
    repo = server.repos["user/tiny-lstm"]
    assert repo.messages[repo.branches["main"]] == "First push"
    assert not server.unhandled


def test_pushed_files_are_the_local_files_and_the_card_names_the_repo(pushed, model_dir):
    server, _, _ = pushed
    files = server.files("user/tiny-lstm")
    for name in MODEL_FILES + TOKENIZER_FILES:  # the card files are rendered for the repo id (next test)
        assert files[name] == (model_dir / name).read_bytes(), name
    card = files["README.md"].decode()
    assert 'from_pretrained("user/tiny-lstm", trust_remote_code=True)' in card
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["model-index"][0]["name"] == "user/tiny-lstm"
    local_header = yaml.safe_load((model_dir / "README.md").read_text().split("---\n")[1])
    assert header["model-index"][0]["results"] == local_header["model-index"][0]["results"]


def test_pushed_results_and_plots_name_the_repo_not_the_local_folder(pushed, model_dir, tmp_path):
    """results.json and both PNG titles of the repo name `user/tiny-lstm`; the local files keep the folder's name."""
    from hf_rnn.model_card import RecurrentModelCardData, write_model_card

    server, _, _ = pushed
    files = server.files("user/tiny-lstm")
    pushed_results = json.loads(files["results.json"])
    assert pushed_results["model_id"] == "user/tiny-lstm"
    assert json.loads((model_dir / "results.json").read_text())["model_id"] == "tiny-lstm"  # local: unchanged
    card_data = RecurrentModelCardData.load(model_dir)
    card_data.model_id = "user/tiny-lstm"
    assert pushed_results == card_data.to_dict()  # the same results, only the id differs
    write_model_card(card_data, tmp_path)  # the plots as titled for the repo id
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert files[name] == (tmp_path / name).read_bytes(), name
        assert files[name] != (model_dir / name).read_bytes(), name  # not the local folder's titles
    assert files["README.md"] == (tmp_path / "README.md").read_bytes()


def test_trainer_push_to_hub_publishes_the_card_and_nothing_else(pushed):
    server, _, trainer_dir = pushed
    files = server.files("user/tiny-trained")
    assert set(files) == set(REPO_FILES) | {".gitattributes"}  # no training_args.bin, no checkpoints
    assert files["results.json"] == (trainer_dir / "results.json").read_bytes()
    assert {"training_args.bin", "trainer_state.json"} <= {path.name for path in trainer_dir.iterdir()}
    header = yaml.safe_load(files["README.md"].decode().split("---\n")[1])
    metrics = json.loads((trainer_dir / "all_results.json").read_text())
    values = {metric["value"] for result in header["model-index"][0]["results"] for metric in result["metrics"]}
    assert values == {metrics[key] for key in ("eval_accuracy", "eval_macro_f1", "test_accuracy", "test_macro_f1")}


def test_model_push_to_hub_carries_the_code(pushed):
    server, _, _ = pushed
    files = server.files("user/model-only")
    assert set(MODEL_FILES) <= set(files)
    assert "auto_map" in json.loads(files["config.json"])


def test_refused_repo_fails_with_one_line(pushed):
    _, report, _ = pushed
    assert report["refused"].startswith("could not create the repo refused/tiny-lstm")
    assert "403" in report["refused"] and "\n" not in report["refused"]


def test_pushed_repos_load_without_hf_rnn_with_identical_predictions(pushed, model_dir, labels, tmp_path):
    server, _, trainer_dir = pushed
    targets = [
        ["user/tiny-lstm", None, "user/tiny-lstm"],
        ["user/tiny-lstm", "v1", "user/tiny-lstm"],
        ["user/model-only", None, "user/tiny-lstm"],
        ["user/tiny-trained", None, "user/tiny-trained"],
    ]
    results = run_child(
        LOAD_SCRIPT, json.dumps(targets), json.dumps(QUESTIONS), env=hub_env(server, tmp_path), cwd=tmp_path
    )
    expected = expected_logits(model_dir)
    check_loaded(results["user/tiny-lstm@None"], expected, labels)
    check_loaded(results["user/tiny-lstm@v1"], expected, labels)
    check_loaded(results["user/model-only@None"], expected, labels)  # model.push_to_hub carried the code
    check_loaded(results["user/tiny-trained@None"], expected_logits(trainer_dir), labels)


#: Trains, saves, loads, predicts and renders a card with a reachable "Hub" and no offline mode; argv: output dir.
NO_HUB_SCRIPT = """
import sys
from transformers import pipeline
from hf_rnn.inference import load_classifier, predict
from hf_rnn.model_card import regenerate_model_card
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

output_dir, questions_file = sys.argv[1:]
train(
    ModelArguments(model_type="gru", embedding_dim=8, hidden_size=8),
    DataArguments(train_file=questions_file),
    RecurrentTrainingArguments(output_dir=output_dir, num_train_epochs=1, report_to="none", disable_tqdm=True),
)
model, tokenizer = load_classifier(output_dir)
predict(model, tokenizer, ["Who is he ?"])
pipeline("text-classification", model=output_dir)(["Who is he ?"])
regenerate_model_card(output_dir)
print("{}")
"""


def test_nothing_but_a_push_calls_the_hub(tmp_path):
    with HubServer() as server:
        run_child(
            NO_HUB_SCRIPT,
            str(tmp_path / "model"),
            str(QUESTIONS_FILE),
            env=hub_env(server, tmp_path / "home"),
            cwd=REPO_ROOT,
        )
        assert server.requests == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("offline", "HF_HUB_OFFLINE is set: unset it to push to the Hub."),
        ("no token", "no Hugging Face token: log in with `hf auth login` or set HF_TOKEN."),
        ("unreachable", "could not create the repo user/tiny-lstm on http://127.0.0.1:"),
        ("incomplete", "lacks README.md"),
    ],
)
def test_failed_push_raises_one_line_and_leaves_the_directory_untouched(
    setting, message, model_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", setting == "offline")
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    if setting != "no token":
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    directory = model_dir
    if setting == "incomplete":
        directory = tmp_path / "incomplete"
        directory.mkdir()
        for name in REPO_FILES[:-4]:
            (directory / name).write_bytes((model_dir / name).read_bytes())
    before = snapshot(directory)
    with pytest.raises(PushError) as raised:
        push_model(directory, "user/tiny-lstm")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert snapshot(directory) == before  # same files, same bytes
