"""The Trainer of hf_rnn: exact mid-epoch resume, balanced sampling, distillation loss, safe checkpoints and saves."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from typing import Any

import torch
from transformers import Trainer
from transformers.trainer_callback import TrainerState
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices
from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_NAME

from .distillation import distillation_loss
from .hub import HubTrainer
from .inference import INCOMPLETE_MARKER

logger = logging.getLogger(__name__)


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """
    Length-grouped order drawn from a generator seeded with `seed + epoch`, so the order of an epoch depends on nothing
    else. transformers' training sampler draws from the global torch generator, whose state at the start of an epoch
    a run resumed mid-epoch cannot recreate (the checkpoint's RNG state is the one of the step, restored after the
    order is drawn); with this sampler the resumed run replays the interrupted epoch in the same order.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer (through accelerate's data loader) at the start of every epoch."""
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class RecurrentTrainer(HubTrainer):
    """
    `Trainer` whose length-grouped training order is a function of the seed and epoch (exact mid-epoch resume), and
    whose loss on batches that carry `teacher_logits` is the distillation loss (see `--teacher`).
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher_logits = inputs.pop("teacher_logits", None)
        if teacher_logits is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        outputs = model(**inputs)
        loss = distillation_loss(
            outputs.logits,
            teacher_logits,
            outputs.loss,
            alpha=self.args.distillation_alpha,
            temperature=self.args.distillation_temperature,
        )
        return (loss, outputs) if return_outputs else loss

    def _get_train_sampler(self, train_dataset=None):
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        if getattr(self.args, "balanced_sampling", False):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            return EpochSeededBalancedSampler(dataset["labels"], seed)
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler


class EpochSeededBalancedSampler(torch.utils.data.Sampler):
    """
    Draws as many examples as the dataset has, with replacement, each with probability inverse to the frequency of
    its label, so every label is drawn about equally often; the draw of an epoch comes from `seed + epoch` (exact
    resume, as `EpochSeededLengthGroupedSampler`).
    """

    def __init__(self, labels: list[int], seed: int):
        labels = torch.as_tensor(labels, dtype=torch.long)
        counts = torch.bincount(labels)
        self.weights = 1.0 / counts[labels].double()
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer (through accelerate's data loader) at the start of every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.weights)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.multinomial(self.weights, len(self.weights), replacement=True, generator=generator).tolist())


def last_complete_checkpoint(output_dir: str) -> str | None:
    """
    The newest `checkpoint-N` folder of `output_dir` whose save finished, or `None`.

    The Trainer writes `trainer_state.json` last, so a checkpoint without a readable one was cut short (a kill during
    the save) and is skipped with a warning; transformers' `get_last_checkpoint` would pick it and fail or, worse,
    restart from step 0 with its weights. So is one whose `model.safetensors` is shorter than its header says, or
    whose `.pt`/`.pth` files (optimizer, scheduler, random state) are not whole zip archives: files cut short after
    the save (a crash before they reached the disk), which resuming could not read.
    """
    steps = []
    for name in os.listdir(output_dir) if os.path.isdir(output_dir) else ():
        match = re.fullmatch(r"checkpoint-(\d+)", name)
        if match and os.path.isdir(os.path.join(output_dir, name)):
            steps.append(int(match.group(1)))
    for step in sorted(steps, reverse=True):
        path = os.path.join(output_dir, f"checkpoint-{step}")
        try:
            TrainerState.load_from_json(os.path.join(path, "trainer_state.json"))
        except (OSError, ValueError):
            logger.warning("Skipping %s: its save did not finish (no readable trainer_state.json).", path)
            continue
        weights = os.path.join(path, SAFE_WEIGHTS_NAME)
        try:
            if os.path.getsize(weights) < _tensor_bytes_end(weights):
                raise ValueError("the file is shorter than its header says")
        except (OSError, ValueError) as error:
            logger.warning("Skipping %s: %s cannot be read (%s).", path, weights, " ".join(str(error).split())[:200])
            continue
        # optimizer.pt, scheduler.pt, rng_state*.pth: `torch.save` zip archives, whose directory is at the end
        cut = sorted(name for name in os.listdir(path) if name.endswith((".pt", ".pth"))
                     and not zipfile.is_zipfile(os.path.join(path, name)))  # fmt: skip
        if cut:
            logger.warning("Skipping %s: %s cannot be read (cut short).", path, os.path.join(path, cut[0]))
            continue
        return path
    return None


def remove_checkpoints(output_dir: str) -> None:
    """Delete the `checkpoint-N` folders of `output_dir` (a run that starts over)."""
    for name in os.listdir(output_dir) if os.path.isdir(output_dir) else ():
        if re.fullmatch(r"checkpoint-\d+", name):
            shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)


def _tensor_bytes_end(path: str) -> int:
    """The size a safetensors file must have: its 8-byte header length, the header, and the last tensor's end."""
    with open(path, "rb") as handle:
        header_length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_length))
    ends = [entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"]
    return 8 + header_length + max(ends, default=0)


#: Prefix of the staging folder of `save_final_model` inside the output folder.
STAGING_PREFIX = ".incomplete-"
#: Test hook: with `HF_RNN_TEST_PAUSE_FINAL_SAVE=N`, `save_final_model` says so on stderr and sleeps (for a test to
#: kill it) once N files are moved in: -1 before `INCOMPLETE_MARKER` is created, 0 right after, N >= the number of
#: files after the last move (before the marker is removed).
PAUSE_ENV = "HF_RNN_TEST_PAUSE_FINAL_SAVE"


def save_final_model(
    trainer: Trainer,
    output_dir: str,
    metrics: dict[str, float],
    run_config: dict[str, Any],
    card: dict[str, Any],
) -> None:
    """
    Save the final model, tokenizer, metrics, run configuration and card into `output_dir` so that the folder is
    always either the previous complete model or the new one, or marked incomplete.

    Everything is written to a staging folder inside `output_dir` first. Then `INCOMPLETE_MARKER` is created, the
    files are moved in, and the marker is removed: a stop in between leaves the marker, and `load_classifier` refuses
    a folder that has it (running the same command again resumes and finishes the save).
    """
    if not trainer.is_world_process_zero():
        with tempfile.TemporaryDirectory() as scratch:  # the other ranks take part in the save, writing nothing
            trainer.save_model(scratch)
        return
    for name in os.listdir(output_dir):  # staging folders of saves that were killed
        if name.startswith(STAGING_PREFIX) and os.path.isdir(os.path.join(output_dir, name)):
            shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)
    staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=output_dir)
    marker = os.path.join(output_dir, INCOMPLETE_MARKER)
    try:
        trainer.save_model(staging)
        for split in ("train", "eval", "test"):
            _write_json(
                os.path.join(staging, f"{split}_results.json"),
                {key: value for key, value in metrics.items() if key.startswith(f"{split}_")},
            )
        _write_json(os.path.join(staging, "all_results.json"), metrics)
        _write_json(os.path.join(staging, "training_config.json"), run_config)
        trainer.state.save_to_json(os.path.join(staging, "trainer_state.json"))
        trainer.write_model_card(directory=staging, **card)
        names = sorted(os.listdir(staging), key=lambda name: name == CONFIG_NAME)
        _pause_for_tests(-1, len(names))
        if not os.path.exists(marker):  # a marker left by an interrupted save stays until this one is done
            try:
                with open(marker, "w", encoding="utf-8") as handle:
                    handle.write("The final save of this folder did not finish; run the training command again.\n")
            except OSError:  # e.g. a full disk: nothing was moved yet, the folder is still the previous model
                with contextlib.suppress(OSError):
                    os.remove(marker)
                raise
        _pause_for_tests(0, len(names))
        for moved, name in enumerate(names, start=1):
            os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
            _pause_for_tests(moved, len(names))
        os.remove(marker)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pause_for_tests(moved: int, total: int) -> None:
    """The test hook of `PAUSE_ENV`: report on stderr and sleep at the chosen point of the final save."""
    value = os.environ.get(PAUSE_ENV)
    if value is None or moved != min(int(value), total):
        return
    print(f"{PAUSE_ENV}: paused with {moved} of {total} files moved", file=sys.stderr, flush=True)
    time.sleep(3600)


def _write_json(path: str, content: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=4, sort_keys=True)
        handle.write("\n")
