"""Reliability of training: a run killed mid-epoch resumes to the very same result; same seed, same run.

Every run is a real `hf-rnn train` subprocess on `tests/data/reliability_train.label` (148 questions: 118 train, so
15 steps per epoch at batch size 8). Checkpoints every 7 steps never fall on an epoch boundary before step 105, so a
kill after checkpoint 21 resumes in the middle of the second epoch. Word and embedding dropout make the result depend
on the restored random state as well as on the data order.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from hf_rnn.inference import ModelLoadError, load_classifier
from hf_rnn.trainer import last_complete_checkpoint

from .conftest import TESTS_DATA, assert_same_weights, subprocess_env

TRAIN_FILE = TESTS_DATA / "reliability_train.label"
SAVE_STEPS = 7
STEPS_PER_EPOCH = 15
TRAIN_OPTIONS = (
    "--train_file", str(TRAIN_FILE), "--model_type", "gru", "--embedding_dim", "16", "--hidden_size", "16",
    "--word_dropout", "0.1", "--embedding_dropout", "0.1", "--per_device_train_batch_size", "8",
    "--learning_rate", "0.01", "--num_train_epochs", "12", "--early_stopping_patience", "8",
    "--save_strategy", "steps", "--save_steps", str(SAVE_STEPS), "--eval_strategy", "steps",
    "--eval_steps", str(SAVE_STEPS), "--logging_strategy", "steps", "--logging_steps", str(SAVE_STEPS),
    "--seed", "3", "--report_to", "none", "--disable_tqdm", "true",
)  # fmt: skip
#: Keys that measure time, not results.
TIMING = ("runtime", "per_second")


def train_command(output_dir: Path) -> list[str]:
    return [sys.executable, "-m", "hf_rnn.cli", "train", *TRAIN_OPTIONS, "--output_dir", str(output_dir)]


def run_training(output_dir: Path) -> None:
    result = subprocess.run(
        train_command(output_dir), check=False, env=subprocess_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


def checkpoint_steps(output_dir: Path) -> list[int]:
    """Steps of the checkpoints whose save finished: their `trainer_state.json`, written last, is whole."""
    steps = []
    for path in output_dir.glob("checkpoint-*"):
        try:
            steps.append(json.loads((path / "trainer_state.json").read_text())["global_step"])
        except (OSError, ValueError):
            continue
    return sorted(steps)


def final_metrics(output_dir: Path) -> dict[str, float]:
    metrics = json.loads((output_dir / "all_results.json").read_text())
    return {
        key: value for key, value in metrics.items() if key.startswith(("eval_", "test_")) and not key.endswith(TIMING)
    }


def logged_losses(output_dir: Path) -> dict[tuple[int, str], float]:
    """Every training and validation loss and accuracy the run logged, by step."""
    history = json.loads((output_dir / "trainer_state.json").read_text())["log_history"]
    return {
        (entry["step"], key): value
        for entry in history
        for key, value in entry.items()
        if key in ("loss", "eval_loss", "eval_accuracy", "eval_macro_f1")
    }


def assert_same_run(reference: Path, other: Path) -> None:
    assert final_metrics(other) == pytest.approx(final_metrics(reference), rel=0, abs=1e-6)
    assert logged_losses(other) == pytest.approx(logged_losses(reference), rel=0, abs=1e-6)
    assert_same_weights(reference / "model.safetensors", other / "model.safetensors")  # the best checkpoint
    last = max(checkpoint_steps(reference))  # the weights at the end of training
    assert max(checkpoint_steps(other)) == last
    assert_same_weights(
        reference / f"checkpoint-{last}" / "model.safetensors", other / f"checkpoint-{last}" / "model.safetensors"
    )


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """One uninterrupted run; it must really learn, or comparing to it would prove little."""
    output_dir = tmp_path_factory.mktemp("reliability") / "reference"
    run_training(output_dir)
    losses = [value for (_, key), value in sorted(logged_losses(output_dir).items()) if key == "eval_loss"]
    assert min(losses) < losses[0] - 0.1, losses
    return output_dir


def test_same_seed_gives_the_same_run(reference_run, tmp_path):
    run_training(tmp_path / "again")
    assert_same_run(reference_run, tmp_path / "again")


def test_run_killed_mid_epoch_resumes_to_the_same_weights_and_metrics(reference_run, tmp_path):
    output_dir = tmp_path / "killed"
    log = tmp_path / "killed.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(train_command(output_dir), env=subprocess_env(), stdout=stderr, stderr=stderr)
    deadline = time.monotonic() + 120
    while not (output_dir.is_dir() and any(step > STEPS_PER_EPOCH for step in checkpoint_steps(output_dir))):
        assert process.poll() is None, f"the run ended before it could be killed: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint after the first epoch within 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    # Killed, the output directory does not look like a finished model.
    assert not (output_dir / "config.json").exists() and not (output_dir / "model.safetensors").exists()
    with pytest.raises(ModelLoadError, match="config.json: missing"):
        load_classifier(output_dir)

    # The resume point is in the middle of an epoch after the first, so both data order and RNG state matter.
    resume_step = max(checkpoint_steps(output_dir))
    state = json.loads((output_dir / f"checkpoint-{resume_step}" / "trainer_state.json").read_text())
    assert state["global_step"] == resume_step and state["epoch"] > 1 and not math.isclose(state["epoch"] % 1, 0)

    # A kill during the next save leaves a checkpoint folder without its trainer_state.json; resuming skips it.
    partial = output_dir / f"checkpoint-{resume_step + SAVE_STEPS}"
    if not partial.exists():
        partial.mkdir()
        weights = (output_dir / f"checkpoint-{resume_step}" / "model.safetensors").read_bytes()
        (partial / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    assert last_complete_checkpoint(str(output_dir)) == str(output_dir / f"checkpoint-{resume_step}")

    run_training(output_dir)  # the same command: it resumes from the last complete checkpoint in output_dir
    assert_same_run(reference_run, output_dir)
    model, _ = load_classifier(output_dir)
    assert model.config.model_type == "hf_gru"
    assert not list(output_dir.glob(".incomplete-*"))  # the staging folder of the final save is gone


def test_incomplete_checkpoints_are_never_resumed_from(tmp_path):
    (tmp_path / "checkpoint-7").mkdir()
    (tmp_path / "checkpoint-7" / "trainer_state.json").write_text(json.dumps({"global_step": 7}))
    save_file({"weight": torch.zeros(4)}, tmp_path / "checkpoint-7" / "model.safetensors")
    (tmp_path / "checkpoint-14").mkdir()
    (tmp_path / "checkpoint-14" / "trainer_state.json").write_text('{"global_step": 1')  # cut short while written
    (tmp_path / "checkpoint-21").mkdir()  # cut short before trainer_state.json
    (tmp_path / "checkpoint-28").write_text("not a folder")
    assert last_complete_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-7")
    os.remove(tmp_path / "checkpoint-7" / "trainer_state.json")
    assert last_complete_checkpoint(str(tmp_path)) is None
