"""
Training on two CPU processes with `torchrun` (DDP over gloo): each rank reads its own batches, the model is saved
once, and the metrics, gathered over the ranks, equal a single-process evaluation of the saved weights.

Run as a script (`torchrun --nproc_per_node 2 tests/test_distributed.py OUTPUT_DIR`), this file is the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

TESTS_DATA = Path(__file__).resolve().parent / "data"
TRAIN_FILE = TESTS_DATA / "distributed_train.label"
TEST_FILE = TESTS_DATA / "distributed_test.label"
TRAIN_ARGS = [
    "--train_file", str(TRAIN_FILE), "--test_file", str(TEST_FILE), "--validation_fraction", "0.2",
    "--model_type", "gru", "--embedding_dim", "16", "--hidden_size", "16", "--num_train_epochs", "2",
    "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "4", "--disable_tqdm", "true",
    "--report_to", "none",
]  # fmt: skip


def worker(output_dir: str) -> None:
    """One rank: record the training batches the Trainer gives this rank in epochs 0 and 1, then train."""
    from transformers import HfArgumentParser

    from hf_rnn.training import build_trainer, prepare_run, train
    from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

    def parse():
        return HfArgumentParser(
            (ModelArguments, DataArguments, RecurrentTrainingArguments)
        ).parse_args_into_dataclasses(args=[*TRAIN_ARGS, "--output_dir", output_dir])

    model_args, data_args, training_args = parse()
    run = prepare_run(model_args, data_args, training_args)
    loader = build_trainer(run, training_args, run.model_init(model_args, data_args)).get_train_dataloader()
    batches = []
    for epoch in (0, 1):
        loader.set_epoch(epoch)  # as Trainer._run_epoch does
        batches.append(
            [[row[row != run.tokenizer.pad_token_id].tolist() for row in batch["input_ids"]] for batch in loader]
        )
    metrics = train(*parse())
    record = {
        "rank": training_args.process_index,
        "world_size": training_args.world_size,
        "vocabulary": run.tokenizer.backend_tokenizer.to_str(),
        "train_rows": [ids for ids in run.encoded["train"]["input_ids"]],
        "batches": batches,
        "metrics": metrics,
    }
    with open(os.path.join(output_dir, f"rank{training_args.process_index}.json"), "w") as handle:
        json.dump(record, handle)


def test_two_process_training(tmp_path):
    import numpy as np
    import pytest
    import torch

    from hf_rnn.data import load_splits
    from hf_rnn.inference import evaluate_file, load_classifier, predict_proba

    from .conftest import REPO_ROOT, subprocess_env

    output_dir = tmp_path / "ddp"
    output_dir.mkdir()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               __file__, str(output_dir)]  # fmt: skip
    env = subprocess_env(PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(command, check=False, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((output_dir / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [record["world_size"] for record in ranks] == [2, 2]
    assert ranks[0]["vocabulary"] == ranks[1]["vocabulary"]  # one tokenizer, whichever rank trained it

    # Each rank reads its own batches; together they cover the training split every epoch, in a new order each epoch.
    train_rows = Counter(map(tuple, ranks[0]["train_rows"]))
    for epoch in (0, 1):
        seen = Counter(tuple(row) for record in ranks for batch in record["batches"][epoch] for row in batch)
        assert not train_rows - seen
        assert sum(seen.values()) - sum(train_rows.values()) < 2 * 8  # only the last step is topped up
        assert ranks[0]["batches"][epoch][0] != ranks[1]["batches"][epoch][0]
    assert ranks[0]["batches"][0] != ranks[0]["batches"][1]

    # Saved once, completely; both ranks report the same metrics, gathered over both.
    assert sorted(path.name for path in output_dir.glob("*.safetensors")) == ["model.safetensors"]
    assert not list(output_dir.glob(".incomplete-*"))
    for name in ("config.json", "tokenizer.json", "README.md", "trainer_state.json", "test_results.json"):
        assert (output_dir / name).is_file(), name
    metrics = ranks[0]["metrics"]
    timings = ("runtime", "per_second")
    assert {key: value for key, value in ranks[1]["metrics"].items() if not key.endswith(timings)} == {
        key: value for key, value in metrics.items() if not key.endswith(timings)
    }
    assert json.loads((output_dir / "test_results.json").read_text())["test_accuracy"] == metrics["test_accuracy"]

    # A single process scoring the saved weights finds the same figures.
    model, tokenizer = load_classifier(output_dir)
    single = evaluate_file(model, tokenizer, TEST_FILE)
    assert single["n"] == metrics["test_samples"] == 25
    assert single["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-12)
    assert single["macro_f1"] == pytest.approx(metrics["test_macro_f1"], abs=1e-12)
    validation = load_splits(train_file=TRAIN_FILE, test_file=TEST_FILE, validation_fraction=0.2)["validation"]
    probabilities = predict_proba(model, tokenizer, validation["text"])
    labels = np.asarray(validation["label"])
    assert len(labels) == metrics["eval_samples"]
    assert float((probabilities.argmax(axis=-1) == labels).mean()) == pytest.approx(
        metrics["eval_accuracy"], abs=1e-12
    )
    log_probabilities, targets = torch.log(torch.from_numpy(probabilities)), torch.from_numpy(labels)
    smoothing = model.config.label_smoothing  # the model's own loss is smoothed as its config says
    loss = torch.nn.functional.cross_entropy(log_probabilities, targets, label_smoothing=smoothing)
    assert float(loss) == pytest.approx(metrics["eval_loss"], abs=1e-5)  # a sample counted twice would shift it


if __name__ == "__main__":
    worker(sys.argv[1])
