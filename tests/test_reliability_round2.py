"""
Reliability, round 2 (issue 13): each numbered defect of the issue, reproduced with real components.

Most checks run `hf-rnn` as a real subprocess (`python -m hf_rnn.cli`, working directory outside the repository) and
require: the exit status (2 for a bad option, 1 for anything else), the error as one line `hf-rnn CMD: error: ...`
on stderr, no traceback without `--debug`, and for `train` a stdout of exactly one JSON line. The option matrix runs
the same entry point in-process (`hf_rnn.cli.main`) to stay fast. Kills are real SIGKILLs, stopped at each step of the
final save by the `HF_RNN_TEST_PAUSE_FINAL_SAVE` hook of `hf_rnn.trainer.save_final_model`; the full disk and the
read-only folder are tmpfs mounts in a private mount namespace (`unshare -m`). The push goes through the real
`huggingface_hub` client to the loopback Hub of `tests/hub_server.py`.

All training uses `tests/data/tiny_trec.label` (60 questions: 24 train, 18 validation, 18 test, so 3 steps per epoch)
or `tests/data/hub_questions.label`, with an 8-unit GRU.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from hf_rnn import cli
from hf_rnn.data.trec import read_label_file
from hf_rnn.hub import PushError, push_model
from hf_rnn.inference import INCOMPLETE_MARKER, ModelLoadError, evaluate_file, load_classifier, predict, predict_proba
from hf_rnn.model_card import RecurrentModelCardData, write_model_card
from hf_rnn.trainer import PAUSE_ENV, last_complete_checkpoint

from .conftest import TESTS_DATA, assert_same_weights, subprocess_env
from .hub_server import HubServer

TINY = TESTS_DATA / "tiny_trec.label"
OTHER_DATA = TESTS_DATA / "hub_questions.label"
COMMON = (
    "--model_type", "gru", "--embedding_dim", "8", "--hidden_size", "8", "--per_device_train_batch_size", "8",
    "--learning_rate", "0.01", "--validation_fraction", "0.3", "--test_fraction", "0.3", "--seed", "1",
    "--load_best_model_at_end", "false", "--early_stopping_patience", "0", "--report_to", "none",
    "--disable_tqdm", "true",
)  # fmt: skip
#: The run every test starts from (copied, never changed): 2 epochs of 3 steps, checkpoints 3 and 6. Without
#: `load_best_model_at_end` the final weights are those of the last step, so a continued run has other weights.
FIRST_RUN = ("--train_file", str(TINY), *COMMON, "--num_train_epochs", "2")
#: Files the final save writes (beside them: checkpoints and `run_fingerprint.json`).
FINAL_FILES = {
    "model.safetensors", "config.json", "configuration_hf_rnn.py", "modeling_hf_rnn.py", "tokenizer.json",
    "tokenizer_config.json", "all_results.json", "train_results.json", "eval_results.json", "test_results.json",
    "training_config.json", "trainer_state.json", "training_args.bin", "README.md", "results.json",
    "training_curve.png", "confusion_matrix.png",
}  # fmt: skip
PAUSED = f"{PAUSE_ENV}: paused with"
SAFE_WEIGHTS = "model.safetensors"


# -- helpers -------------------------------------------------------------------------------------------------------


def hf_rnn(*args: str | bytes, cwd: Path, env: dict[str, str] | None = None, stdin: bytes | None = None,
           timeout: int = 300) -> subprocess.CompletedProcess:  # fmt: skip
    """Run `python -m hf_rnn.cli ARGS` in `cwd` (outside the repository) with the test environment."""
    result = subprocess.run(
        [sys.executable, "-m", "hf_rnn.cli", *args],
        cwd=cwd,
        env=env if env is not None else subprocess_env(),
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    result.stdout = result.stdout.decode("utf-8", "replace")
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def train_ok(*args: str, cwd: Path, env: dict[str, str] | None = None, log: Path | None = None) -> dict:
    """Run `hf-rnn train`; it must succeed with exactly one line on stdout, the JSON scores (item 11)."""
    result = hf_rnn("train", *args, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    if log is not None:
        log.write_text(result.stderr)
    return single_json_line(result.stdout)


def single_json_line(stdout: str) -> dict:
    lines = stdout.splitlines()
    assert len(lines) == 1, f"stdout must carry only the result line, got {len(lines)} lines: {stdout[:2000]!r}"
    scores = json.loads(lines[0])
    assert {"eval_accuracy", "test_accuracy", "train_accuracy"} <= set(scores), scores
    return scores


def error_line(stderr: str, command: str, *fragments: str, only_line: bool = False) -> str:
    """The one `hf-rnn COMMAND: error: ...` line, last on stderr, with no traceback; it contains `fragments`."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(f"hf-rnn {command}: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr[-3000:]
    if only_line:
        assert len(lines) == 1, f"expected only the error line on stderr, got: {stderr[-3000:]}"
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def assert_fails(result: subprocess.CompletedProcess, command: str, status: int, *fragments: str,
                 only_line: bool = False) -> str:  # fmt: skip
    assert result.returncode == status, f"exit status {result.returncode}, expected {status}: {result.stderr[-3000:]}"
    assert result.stdout == "", result.stdout[:2000]
    return error_line(result.stderr, command, *fragments, only_line=only_line)


def run_main(capfd, *argv: str) -> tuple[int, str, str]:
    """`hf_rnn.cli.main(argv)` in this process: (exit status, stdout, stderr) as the file descriptors saw them."""
    capfd.readouterr()
    try:
        cli.main(list(argv))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    out, err = capfd.readouterr()
    return status, out, err


def snapshot(directory: Path) -> dict[str, str]:
    """Every file below `directory` with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def weights_differ(first: Path, second: Path) -> bool:
    expected, actual = load_file(first), load_file(second)
    return any(not torch.equal(expected[name], actual[name]) for name in expected)


def assert_complete(model_dir: Path, killed: bool = False) -> None:
    """
    A finished folder: no marker, every final file non-empty, loadable, card data readable; and no staging folder
    (unless `killed`: a process killed during its final save cannot remove it; the next save does).
    """
    assert not (model_dir / INCOMPLETE_MARKER).exists()
    if not killed:
        assert not list(model_dir.glob(".incomplete-*")), list(model_dir.glob(".incomplete-*"))
    for name in FINAL_FILES:
        assert (model_dir / name).stat().st_size > 0, name
    load_classifier(model_dir)
    RecurrentModelCardData.load(model_dir)


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def namespace_command(probe_dir: Path) -> list[str]:
    """`unshare -m` (or, not as root, `unshare -r -m`): a private mount namespace for tmpfs mounts; else a skip."""
    if shutil.which("unshare") is None:
        pytest.skip("`unshare` is not installed, so no private tmpfs can be mounted for this test (util-linux)")
    command = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    probe_dir.mkdir()
    probe = subprocess.run(
        [*command, "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', str(probe_dir)], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"`{' '.join(command)}` cannot mount a tmpfs here: {probe.stderr.strip()}")
    return command


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("round2")


@pytest.fixture(scope="module")
def first_run(workdir) -> Path:
    """A finished 2-epoch run (logging every step, see item 11); tests copy it and never change it."""
    output_dir = workdir / "first-run"
    log = ("--logging_strategy", "steps", "--logging_steps", "1")
    scores = train_ok(*FIRST_RUN, *log, "--output_dir", str(output_dir), cwd=workdir, log=workdir / "first-run.log")
    (workdir / "first-run.json").write_text(json.dumps(scores))
    assert_complete(output_dir)
    assert sorted(path.name for path in output_dir.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    return output_dir


# -- 1. resume only the same run -----------------------------------------------------------------------------------


def test_1_other_data_or_options_in_a_used_folder_are_refused_and_overwrite_starts_over(first_run, tmp_path, capfd):
    used = copy_run(first_run, tmp_path / "used")
    before = snapshot(used)
    other_data = ("--train_file", str(OTHER_DATA), *COMMON, "--num_train_epochs", "2")

    result = hf_rnn("train", *other_data, "--output_dir", str(used), cwd=tmp_path)
    assert_fails(result, "train", 2, f"--output_dir {used} holds checkpoints of another run", "data",
                 "--overwrite_output_dir true")  # fmt: skip
    assert snapshot(used) == before  # refused before anything was trained or written

    options = list(FIRST_RUN)
    options[options.index("--hidden_size") + 1] = "12"
    status, out, err = run_main(capfd, "train", *options, "--output_dir", str(used))
    assert status == 2 and out == ""
    error_line(err, "train", "different hidden_size", "--overwrite_output_dir")
    assert snapshot(used) == before

    # --overwrite_output_dir starts over: the same model as a fresh folder gives, the old checkpoints gone.
    fresh = tmp_path / "fresh"
    expected = train_ok(*other_data, "--output_dir", str(fresh), cwd=tmp_path)
    scores = train_ok(*other_data, "--overwrite_output_dir", "true", "--output_dir", str(used), cwd=tmp_path)
    assert scores == pytest.approx(expected, abs=1e-9)
    assert (used / "tokenizer.json").read_bytes() == (fresh / "tokenizer.json").read_bytes()
    assert_same_weights(fresh / "model.safetensors", used / "model.safetensors")
    state = json.loads((used / "trainer_state.json").read_text())
    assert state["global_step"] == json.loads((fresh / "trainer_state.json").read_text())["global_step"]
    assert {path.name for path in used.glob("checkpoint-*")} == {path.name for path in fresh.glob("checkpoint-*")}
    assert (
        json.loads((used / "results.json").read_text())["split_sizes"]
        == json.loads((fresh / "results.json").read_text())["split_sizes"]
    )
    assert_complete(used)


# -- 2. batch sizes below 1 ----------------------------------------------------------------------------------------


def test_2_batch_size_below_one_is_an_option_error(first_run, tmp_path, capfd):
    result = hf_rnn("predict", "--model_name_or_path", str(first_run), "--batch_size", "-1", "Who wrote Hamlet ?",
                    cwd=tmp_path)  # fmt: skip
    assert_fails(result, "predict", 2, "--batch_size must be at least 1, got -1", only_line=True)
    for command, extra in (("predict", ["What is DNA ?"]), ("evaluate", ["--test_file", str(TINY)])):
        status, out, err = run_main(
            capfd, command, "--model_name_or_path", str(first_run), "--batch_size", "0", *extra
        )
        assert status == 2 and out == ""
        error_line(err, command, "--batch_size must be at least 1, got 0", only_line=True)
    model, tokenizer = load_classifier(first_run)
    for batch_size in (0, -1):
        with pytest.raises(ValueError, match="batch_size must be at least 1"):
            predict_proba(model, tokenizer, ["Who wrote Hamlet ?"], batch_size=batch_size)
        with pytest.raises(ValueError, match="batch_size must be at least 1"):
            evaluate_file(model, tokenizer, TINY, batch_size=batch_size)


# -- 3. old Mac line endings ---------------------------------------------------------------------------------------


def test_3_a_file_with_carriage_return_line_ends_is_read_line_by_line(first_run, tmp_path):
    cr_file = tmp_path / "cr.label"
    cr_file.write_bytes(TINY.read_bytes().replace(b"\n", b"\r"))
    assert [question.text for question in read_label_file(cr_file)] == [q.text for q in read_label_file(TINY)]
    result = hf_rnn("evaluate", "--model_name_or_path", str(first_run), "--test_file", str(cr_file), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "may be truncated" not in result.stderr
    scored = json.loads(result.stdout)
    expected = evaluate_file(*load_classifier(first_run), TINY)
    assert scored["n"] == 60 == expected["n"]
    assert scored["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-9)


# -- 4. labels never trained on, a tokenizer of special tokens only -------------------------------------------------


def test_4_a_test_label_never_seen_in_training_is_an_error(tmp_path, first_run, capfd):
    no_desc = tmp_path / "no-desc.label"
    no_desc.write_bytes(b"".join(line for line in TINY.read_bytes().splitlines(True) if not line.startswith(b"DESC")))
    first_desc = 1 + next(i for i, q in enumerate(read_label_file(TINY)) if q.coarse_label == "DESC")
    output_dir = tmp_path / "model"
    result = hf_rnn("train", "--train_file", str(no_desc), "--test_file", str(TINY), *COMMON, "--num_train_epochs",
                    "1", "--output_dir", str(output_dir), cwd=tmp_path)  # fmt: skip
    assert_fails(result, "train", 1, f"{TINY}:{first_desc}: label 'DESC' never occurs in the training data")
    assert not output_dir.exists()

    # Scoring a file with a label the model does not know is refused too, naming the file and line.
    csv_file = tmp_path / "sports.csv"
    csv_file.write_text("text,coarse_label\nWho wrote Hamlet ?,HUM\nWho won the 1998 World Cup ?,SPORTS\n")
    status, out, err = run_main(
        capfd, "evaluate", "--model_name_or_path", str(first_run), "--test_file", str(csv_file)
    )
    assert status == 1 and out == ""
    error_line(err, "evaluate", f"{csv_file}:3: label 'SPORTS' never occurs in the training data")


def test_4_a_tokenizer_of_special_tokens_only_is_refused(first_run, tmp_path):
    stripped = copy_run(first_run, tmp_path / "stripped")
    _, tokenizer = load_classifier(first_run)
    specials = dict(zip(tokenizer.all_special_tokens, tokenizer.all_special_ids))
    backend = Tokenizer(models.WordLevel(specials, unk_token=tokenizer.unk_token))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token=tokenizer.unk_token, pad_token=tokenizer.pad_token
    ).save_pretrained(stripped)
    with pytest.raises(ModelLoadError, match="the vocabulary holds only special tokens"):
        load_classifier(stripped)
    result = hf_rnn("predict", "--model_name_or_path", str(stripped), "Who wrote Hamlet ?", cwd=tmp_path)
    assert_fails(result, "predict", 1, f"{stripped / 'tokenizer.json'}: the vocabulary holds only special tokens")


# -- 5. every option checked before anything is trained or written -----------------------------------------------

BAD_OPTIONS = {
    "no epochs": (["--num_train_epochs", "0"], "--num_train_epochs must be positive"),
    "negative epochs": (["--num_train_epochs", "-1"], "--num_train_epochs must be positive"),
    "infinite epochs": (["--num_train_epochs", "inf"], "--num_train_epochs must be finite"),
    "max_length 0": (["--max_length", "0"], "--max_length must be at least 1"),
    "validation share above 1": (["--validation_fraction", "1.5"], "--validation_fraction must be between 0 and 1"),
    "validation share 0": (["--validation_fraction", "0"], "--validation_fraction must be between 0 and 1"),
    "negative test share": (["--test_fraction", "-0.2"], "--test_fraction must be between 0 and 1"),
    "shares leaving no training data": (
        ["--validation_fraction", "0.6", "--test_fraction", "0.5"], "--validation_fraction must be below 1 - "
    ),
    "negative patience": (["--early_stopping_patience", "-3"], "--early_stopping_patience must be 0 or more"),
    "vocab_size 0": (["--vocab_size", "0"], "--vocab_size must be at least 3"),
    "hidden_size 0": (["--hidden_size", "0"], "--hidden_size must be at least 1"),
    "batch size 0": (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size must be at least 1"),
    "infinite learning rate": (["--learning_rate", "inf"], "--learning_rate must be positive and finite"),
    "no gradient accumulation": (["--gradient_accumulation_steps", "0"], "--gradient_accumulation_steps must be"),
    "eval accumulation 0": (["--eval_accumulation_steps", "0"], "--eval_accumulation_steps must be at least 1"),
    "a dropout of 1": (["--embedding_dropout", "1"], "--embedding_dropout must be in [0, 1)"),
    "no test scoring": (["--do_predict", "false"], "--do_predict false is not supported: a run scores its test split"),
    "unknown option": (["--no_such_option", "3"], "unrecognized arguments: --no_such_option 3 (see hf-rnn train"),
    "not a number": (["--hidden_size", "many"], "--hidden_size"),
}  # fmt: skip


@pytest.mark.parametrize("options, message", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_5_a_bad_option_is_one_line_naming_it_and_nothing_is_written(options, message, tmp_path, capfd):
    base = ["--train_file", str(TINY), "--validation_fraction", "0.3", "--test_fraction", "0.3"]
    output_dir = tmp_path / "model"
    status, out, err = run_main(capfd, "train", *base, *options, "--output_dir", str(output_dir))
    assert status == 2 and out == ""
    error_line(err, "train", message, only_line=True)
    assert not output_dir.exists()


@pytest.mark.parametrize("size", [1, 10])
def test_5_too_little_data_is_refused_before_training(size, tmp_path, capfd):
    small = tmp_path / f"{size}.label"
    small.write_bytes(b"".join(TINY.read_bytes().splitlines(True)[:size]))
    output_dir = tmp_path / "model"
    status, out, err = run_main(capfd, "train", "--train_file", str(small), "--output_dir", str(output_dir))
    assert status == 1 and out == ""
    error_line(err, "train", f"{small}: {size} rows are too few to cut a validation split")
    assert not output_dir.exists()


def test_5_zero_epochs_in_a_real_process_exits_2_before_training(tmp_path):
    output_dir = tmp_path / "model"
    options = [*FIRST_RUN[: FIRST_RUN.index("--num_train_epochs")], "--num_train_epochs", "0"]
    result = hf_rnn("train", *options, "--output_dir", str(output_dir), cwd=tmp_path)
    assert_fails(result, "train", 2, "--num_train_epochs must be positive, got 0.0", only_line=True)
    assert not output_dir.exists()


# -- 6. an output folder that cannot be written --------------------------------------------------------------------


def test_6_a_read_only_output_folder_is_refused_before_training(tmp_path):
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    output_dir = mount_point / "out"
    script = 'mount -t tmpfs -o size=1m tmpfs "$0" && mkdir "$0/out" && mount -o remount,ro "$0" && exec "$@"'
    train = [sys.executable, "-m", "hf_rnn.cli", "train", *FIRST_RUN, "--output_dir", str(output_dir)]
    command = [*namespace_command(tmp_path / "probe"), "sh", "-c", script, str(mount_point), *train]
    result = subprocess.run(command, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert_fails(result, "train", 2, f"--output_dir {output_dir}: cannot write there (Read-only file system)",
                 only_line=True)  # fmt: skip


# -- 7. a consistent folder after a kill or a full disk during the final save ---------------------------------------


def run_until_paused(args: list[str], cwd: Path, pause: int, log: Path) -> None:
    """Run `hf-rnn train ARGS` with the final-save pause at `pause` files moved and SIGKILL it there."""
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "hf_rnn.cli", "train", *args],
            cwd=cwd,
            env=subprocess_env(**{PAUSE_ENV: str(pause)}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 240
        while PAUSED not in log.read_text(errors="replace"):
            assert process.poll() is None, f"ended ({process.returncode}) before the pause: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the final save did not reach the pause within 240 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_7_a_kill_at_any_step_of_the_final_save_leaves_the_old_model_or_a_refused_folder(first_run, tmp_path, capfd):
    output_dir = copy_run(first_run, tmp_path / "continued")
    old = {name: digest for name, digest in snapshot(first_run).items() if name in FINAL_FILES}
    continued = [*FIRST_RUN[: FIRST_RUN.index("--num_train_epochs")], "--num_train_epochs", "3",
                 "--output_dir", str(output_dir)]  # fmt: skip

    # Killed with the new files staged, before the first move: the folder is still the old model, file for file.
    run_until_paused(continued, tmp_path, -1, tmp_path / "staged.log")
    assert (output_dir / "checkpoint-9").is_dir()
    assert {name: digest for name, digest in snapshot(output_dir).items() if name in FINAL_FILES} == old
    assert_complete(output_dir, killed=True)
    assert not weights_differ(first_run / "model.safetensors", output_dir / "model.safetensors")

    # Killed between the moves (some new files beside old ones), or after the last one: marked and refused.
    for pause in (3, 999):
        run_until_paused(continued, tmp_path, pause, tmp_path / f"moved-{pause}.log")
        assert (output_dir / INCOMPLETE_MARKER).is_file()
        now = {name: digest for name, digest in snapshot(output_dir).items() if name in FINAL_FILES}
        assert now != old or pause < len(FINAL_FILES)  # after the last move, the new files are all there
        with pytest.raises(ModelLoadError, match=rf"{INCOMPLETE_MARKER}: the final save of .* was interrupted"):
            load_classifier(output_dir)
        with pytest.raises(PushError, match=INCOMPLETE_MARKER):
            push_model(output_dir, "user/never-pushed")  # refused before any Hub call (offline anyway)
        status, out, err = run_main(capfd, "predict", "--model_name_or_path", str(output_dir), "Who wrote Hamlet ?")
        assert status == 1 and out == ""
        error_line(err, "predict", f"{output_dir / INCOMPLETE_MARKER}: the final save", "run the training command")

    # The same command again finishes: one consistent new model (the weights of the last step), nothing left over.
    scores = train_ok(*continued, cwd=tmp_path)
    assert_complete(output_dir)
    assert_same_weights(output_dir / "checkpoint-9" / "model.safetensors", output_dir / "model.safetensors")
    assert weights_differ(first_run / "model.safetensors", output_dir / "model.safetensors")
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == 9
    metrics = json.loads((output_dir / "all_results.json").read_text())
    assert metrics["epoch"] == 3 and metrics["test_accuracy"] == scores["test_accuracy"]
    card = RecurrentModelCardData.load(output_dir)
    assert card.training["epochs_trained"] == 3
    assert card.results == json.loads((output_dir / "results.json").read_text())["results"]


def test_7_a_full_disk_during_the_final_save_leaves_the_old_model_and_one_error_line(first_run, tmp_path):
    namespace = namespace_command(tmp_path / "probe")
    mount_point, host = tmp_path / "mnt", tmp_path / "host"
    mount_point.mkdir()
    host.mkdir()
    # Free space left for the final save: a sixth of what it needs (the weights and code fail), then two thirds
    # (the card files fail). The rerun resumes at the last step, so the final save is all it writes.
    need_kib = sum(-(-(first_run / name).stat().st_size // 4096) * 4 for name in FINAL_FILES)
    levels = [need_kib // 6, need_kib * 2 // 3]
    output_dir = mount_point / "out"
    mnt, out, saved, first = (shlex.quote(str(path)) for path in (mount_point, output_dir, host, first_run))
    script = f"""
set -u
mount -t tmpfs -o size=8m tmpfs {mnt} || exit 90
cp -a {first} {out} || exit 91
for level in {" ".join(map(str, levels))} free; do
    rm -f {mnt}/filler
    if [ "$level" != free ]; then
        avail=$(df -k --output=avail {mnt} | tail -n 1)
        head -c $(( (avail - level) * 1024 )) /dev/zero > {mnt}/filler 2>/dev/null
    fi
    "$@" > {saved}/stdout-$level 2> {saved}/stderr-$level
    echo $? > {saved}/rc-$level
    cp -a {out} {saved}/after-$level
done
"""
    command = [*namespace, "sh", "-c", script, "sh", sys.executable, "-m", "hf_rnn.cli", "train", *FIRST_RUN,
               "--output_dir", str(output_dir)]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    before = snapshot(first_run)
    for level in levels:
        after = host / f"after-{level}"
        changed = sorted(name for name, digest in snapshot(after).items() if before.get(name) != digest)
        assert not changed, f"{level} KiB free: the folder is no longer the old model: {changed}"
        assert not list(after.glob(".*")), list(after.glob(".*"))  # no marker, staging or temporary file
        assert_complete(after)
        # Less space than the new files need: the run fails, in one line, with nothing on stdout.
        rc = int((host / f"rc-{level}").read_text())
        stderr = (host / f"stderr-{level}").read_text(errors="replace")
        assert rc == 1, f"{level} KiB free: exit status {rc}: {stderr[-3000:]}"
        assert (host / f"stdout-{level}").read_text() == ""
        error_line(stderr, "train", "No space left on device")
    assert int((host / "rc-free").read_text()) == 0, (host / "stderr-free").read_text()[-3000:]
    single_json_line((host / "stdout-free").read_text())
    assert_complete(host / "after-free")
    assert_same_weights(first_run / "model.safetensors", host / "after-free" / "model.safetensors")


# -- 8. a truncated checkpoint -------------------------------------------------------------------------------------


def test_8_a_checkpoint_with_a_file_cut_short_is_skipped_for_the_one_before(first_run, tmp_path):
    output_dir = copy_run(first_run, tmp_path / "truncated")
    for cut_file in ("optimizer.pt", SAFE_WEIGHTS):  # each with trainer_state.json intact
        cut = output_dir / "checkpoint-6" / cut_file
        whole = cut.read_bytes()
        cut.write_bytes(whole[:-100])  # the safetensors header intact, the tensors cut short
        assert last_complete_checkpoint(str(output_dir)) == str(output_dir / "checkpoint-3"), cut_file
        if cut_file != SAFE_WEIGHTS:
            cut.write_bytes(whole)
    assert last_complete_checkpoint(str(output_dir)) == str(output_dir / "checkpoint-3")

    result = hf_rnn("train", *FIRST_RUN, "--output_dir", str(output_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    single_json_line(result.stdout)
    assert f"Skipping {output_dir / 'checkpoint-6'}: {cut} cannot be read" in result.stderr
    # Epoch 2 was trained again from checkpoint 3: exact resume gives the weights of the uninterrupted run.
    assert_same_weights(first_run / SAFE_WEIGHTS, output_dir / SAFE_WEIGHTS)
    assert_same_weights(first_run / "checkpoint-6" / SAFE_WEIGHTS, cut)
    assert_complete(output_dir)


# -- 9. one line per failure, --debug for the traceback ------------------------------------------------------------


def test_9_a_bad_option_is_one_line_without_the_usage(tmp_path):
    result = hf_rnn("train", *FIRST_RUN, "--no_such_option", "3", "--output_dir", str(tmp_path / "m"), cwd=tmp_path)
    assert_fails(result, "train", 2, "--no_such_option", "see hf-rnn train --help", only_line=True)


def test_9_a_mistyped_local_folder_is_named_in_one_line(tmp_path):
    missing = "./no-such-model"
    result = hf_rnn("predict", "--model_name_or_path", missing, "Who wrote Hamlet ?", cwd=tmp_path)
    assert_fails(result, "predict", 1, f"{missing}: no such model folder", only_line=True)


def test_9_debug_shows_the_error_itself_and_unforeseen_errors_are_one_line(tmp_path, capfd, monkeypatch):
    missing = str(tmp_path / "none")
    with pytest.raises(ModelLoadError, match=f"{missing}: no such model folder"):
        cli.main(["predict", "--debug", "--model_name_or_path", missing, "Who ?"])
    monkeypatch.setenv("HF_RNN_DEBUG", "1")
    with pytest.raises(ModelLoadError, match=f"{missing}: no such model folder"):
        cli.main(["predict", "--model_name_or_path", missing, "Who ?"])
    monkeypatch.setenv("HF_RNN_DEBUG", "0")

    def broken(argv):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(cli.COMMANDS, "card", broken)
    status, out, err = run_main(capfd, "card", "--model_name_or_path", str(tmp_path))
    assert status == 1 and out == ""
    error_line(err, "card", "ZeroDivisionError: division by zero", "--debug", only_line=True)
    with pytest.raises(ZeroDivisionError):
        cli.main(["card", "--debug"])


def test_9_known_runtime_errors_are_one_line_with_status_1(first_run, tmp_path, capfd):
    bad = tmp_path / "bad.label"
    bad.write_bytes(TINY.read_bytes() + b"HUM:inventor Who invented the telephone ?\n")
    status, out, err = run_main(capfd, "train", "--train_file", str(bad), "--output_dir", str(tmp_path / "m"))
    assert status == 1 and out == ""
    error_line(err, "train", f"{bad}:61: unknown fine label 'HUM:inventor'", only_line=True)
    status, out, err = run_main(capfd, "push", "--model_name_or_path", str(first_run), "--repo_id", "user/x")
    assert status == 1 and out == ""
    error_line(err, "push", "HF_HUB_OFFLINE is set", only_line=True)
    status, out, err = run_main(capfd, "card", "--model_name_or_path", str(tmp_path))
    assert status == 1 and out == ""
    error_line(err, "card", "results.json does not exist", only_line=True)


def test_9_a_mistyped_path_that_looks_like_a_hub_id_says_the_folder_does_not_exist(tmp_path):
    with HubServer() as server:
        env = subprocess_env(HF_ENDPOINT=server.url, HF_TOKEN="hf_test_token", HF_HOME=str(tmp_path / "home"))
        env.pop("HF_HUB_OFFLINE")
        result = hf_rnn("predict", "--model_name_or_path", "runs/gru-model", "Who ?", cwd=tmp_path, env=env)
    line = assert_fails(result, "predict", 1)
    assert line.startswith("hf-rnn predict: error: runs/gru-model: no such model folder"), line


# -- 10. any text, any bytes ---------------------------------------------------------------------------------------


def test_10_latin1_stdin_and_cr_line_ends_are_decoded(first_run, tmp_path):
    stdin = "Qu'est-ce qu'un café ?\r\nWho wrote Hamlet ?\rWhat is DNA ?\n".encode("latin-1")
    result = hf_rnn("predict", "--model_name_or_path", str(first_run), cwd=tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    texts = ["Qu'est-ce qu'un café ?", "Who wrote Hamlet ?", "What is DNA ?"]
    assert [answer["text"] for answer in answers] == texts
    expected = predict(*load_classifier(first_run), texts)
    assert [answer["label"] for answer in answers] == [item["label"] for item in expected]


def test_10_arguments_that_are_not_utf8_and_lone_surrogates_are_answered(first_run, tmp_path):
    result = hf_rnn("predict", "--model_name_or_path", str(first_run), b"caf\xe9 ?", "caf\u00e9 ?", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["text"] == second["text"] == "café ?"  # the Latin-1 byte read as a file would be read
    assert first["label"] == second["label"] and first["score"] == pytest.approx(second["score"], abs=1e-6)
    model, tokenizer = load_classifier(first_run)
    probabilities = predict_proba(model, tokenizer, ["caf\udce9 ?", "café ?", "lone \ud800 surrogate"])
    np.testing.assert_allclose(probabilities[0], probabilities[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-5)


# -- 11. stdout carries the result only ----------------------------------------------------------------------------
# Every `train_ok` requires exactly one JSON line on stdout; the run every test starts from logs every step.


def test_11_train_stdout_is_one_json_line_and_the_logs_go_to_stderr(first_run, workdir):
    scores = json.loads((workdir / "first-run.json").read_text())  # `train_ok` saw exactly this one line on stdout
    log = (workdir / "first-run.log").read_text()
    assert log.count("'loss':") == 6 and log.count("'eval_loss':") >= 2  # the Trainer's logs of every step
    assert scores["test_accuracy"] == json.loads((first_run / "all_results.json").read_text())["test_accuracy"]


# -- 12. pushed files name the repo, never the local folder --------------------------------------------------------


def test_12_pushed_results_plots_and_card_name_the_repo_not_the_local_folder(first_run, tmp_path):
    local_name = "my-local-folder-7f3a"
    local = copy_run(first_run, tmp_path / local_name)
    before = snapshot(local)
    with HubServer() as server:
        env = subprocess_env(HF_ENDPOINT=server.url, HF_TOKEN="hf_test_token", HF_HOME=str(tmp_path / "home"))
        env.pop("HF_HUB_OFFLINE")
        result = hf_rnn("push", "--model_name_or_path", str(local), "--repo_id", "user/pushed-model", cwd=tmp_path,
                        env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        files = server.files("user/pushed-model")
    assert snapshot(local) == before  # the local folder is untouched
    for name, content in files.items():
        for local_id in (local_name, first_run.name, str(tmp_path)):
            assert local_id.encode() not in content, f"{name} names the local folder {local_id!r}"
    results = json.loads(files["results.json"])
    assert results["model_id"] == "user/pushed-model"
    assert 'from_pretrained("user/pushed-model"' in files["README.md"].decode()
    card_data = RecurrentModelCardData.load(local)
    card_data.model_id = "user/pushed-model"
    assert results == card_data.to_dict()
    write_model_card(card_data, tmp_path / "rendered")  # the plots titled for the repo id
    for name in ("training_curve.png", "confusion_matrix.png"):
        assert files[name] == (tmp_path / "rendered" / name).read_bytes(), name
        assert files[name] != (local / name).read_bytes(), name  # not the local titles
