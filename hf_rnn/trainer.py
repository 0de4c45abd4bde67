"""The Trainer of hf_rnn: exact mid-epoch resume, distillation loss, and safe checkpoint and final-model files."""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import tempfile

import accelerate.optimizer
import torch
from transformers import Trainer
from transformers.trainer_callback import TrainerState
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices
from transformers.utils import CONFIG_NAME

from .distillation import distillation_loss
from .hub import HubTrainer

logger = logging.getLogger(__name__)

# accelerate's `AcceleratedOptimizer.step` asks `is_lomo_available()` twice per optimizer step, and every call searches
# sys.path (`importlib.util.find_spec`, about 0.2 ms here): 4-7% of a small recurrent model's training step on CPU
# (results/benchmark.md). Whether a package is installed does not change during a run, so the answer is kept.
if hasattr(accelerate.optimizer, "is_lomo_available"):
    accelerate.optimizer.is_lomo_available = functools.cache(accelerate.optimizer.is_lomo_available)


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


class RNNTrainer(HubTrainer):
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
            inputs["labels"],
            alpha=self.args.distillation_alpha,
            temperature=self.args.distillation_temperature,
        )
        return (loss, outputs) if return_outputs else loss

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler


def last_complete_checkpoint(output_dir: str) -> str | None:
    """
    The newest `checkpoint-N` folder of `output_dir` whose save finished, or `None`.

    The Trainer writes `trainer_state.json` last, so a checkpoint without a readable one was cut short (a kill during
    the save) and is skipped with a warning; transformers' `get_last_checkpoint` would pick it and fail or, worse,
    restart from step 0 with its weights.
    """
    steps = []
    for name in os.listdir(output_dir):
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
        return path
    return None


def save_final_model(trainer: Trainer, output_dir: str) -> None:
    """
    Save the final model and tokenizer into `output_dir` so that it never looks finished before it is: the files are
    written to a staging folder inside it and moved in, `config.json` (what `from_pretrained` needs first) last.
    """
    staging = tempfile.mkdtemp(prefix=".incomplete-", dir=output_dir)
    try:
        trainer.save_model(staging)
        for name in sorted(os.listdir(staging), key=lambda name: name == CONFIG_NAME):
            os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
