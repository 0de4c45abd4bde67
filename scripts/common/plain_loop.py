"""
The one hand-written PyTorch training loop of the scripts: what a user writes without the Trainer.

`PlainLoop` takes a model, an optimizer and the batches of each epoch, and for each batch runs the forward pass (the
loss), the backward pass, optional gradient clipping, the optimizer step and an optional scheduler step, with mixed
precision (autocast, and a gradient scaler for fp16) when asked. Its phases are marked with
`torch.profiler.record_function` (`data`, `forward`, `backward`, `clip_grad_norm`, `optimizer`) for profiles.

- `trainer_like_loop` builds the loop that does what `transformers.Trainer` does with the same arguments (the
  benchmark's "plain loop": AdamW, linear schedule, clipping, the Trainer's length-grouped padded batches);
- `scripts.baselines.plain_pytorch_lstm` drives it with its own model, Adam and shuffled batches.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator

import torch
from torch.profiler import record_function
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase, TrainingArguments, get_scheduler

from hf_rnn.trainer import EpochSeededLengthGroupedSampler

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

Batch = dict[str, torch.Tensor]


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The mixed-precision context the Trainer uses for `precision` (none for fp32)."""
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock times are complete."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """The loss a Hugging Face model computes itself when its batch carries `labels`."""
    return model(**batch).loss


class PlainLoop:
    """
    A training loop written by hand.

    Args:
        model: The model, already on `device`.
        optimizer: Its optimizer.
        epoch_batches: Called with the epoch number (0, 1, ...), returns that epoch's batches (dicts of tensors).
        loss: The loss of a batch, `loss(model, batch)` (default: the model's own `.loss`).
        scheduler: A learning-rate scheduler stepped after every optimizer step, if any.
        max_grad_norm: Clip the gradients' global norm to this value, if given and positive.
        device: Where batches are moved.
        precision: `fp32`, `bf16` or `fp16` (autocast of the forward pass; a gradient scaler for fp16).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        epoch_batches: Callable[[int], Iterable[Batch]],
        *,
        loss: Callable[[torch.nn.Module, Batch], torch.Tensor] = model_loss,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        max_grad_norm: float | None = None,
        device: torch.device | str = "cpu",
        precision: str = "fp32",
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}.")
        self.model, self.optimizer, self.epoch_batches, self.loss = model, optimizer, epoch_batches, loss
        self.scheduler, self.max_grad_norm = scheduler, max_grad_norm
        self.device, self.precision = torch.device(device), precision
        self.params = [param for param in model.parameters() if param.requires_grad]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
        self.epoch = 0

    def step(self, batch: Batch) -> None:
        """One optimizer step on one batch."""
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        with record_function("forward"), autocast(self.device, self.precision):
            loss = self.loss(self.model, batch)
        with record_function("backward"):
            self.scaler.scale(loss).backward()
        if self.max_grad_norm:  # None or 0: no clipping, as in the Trainer
            with record_function("clip_grad_norm"):
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        with record_function("optimizer"):
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.scheduler is not None:
                self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)

    def batches(self) -> Iterator[Batch]:
        """The batches of the next epoch (fetching each one is marked `data`)."""
        epoch, self.epoch = self.epoch, self.epoch + 1
        with record_function("data"):
            iterator = iter(self.epoch_batches(epoch))
        while True:
            with record_function("data"):
                batch = next(iterator, None)
            if batch is None:
                return
            yield batch

    def run_epoch(self) -> float:
        """Train one epoch in training mode; return its seconds."""
        self.model.train()
        sync(self.device)
        start = time.perf_counter()
        for batch in self.batches():
            self.step(batch)
        sync(self.device)
        return time.perf_counter() - start

    def train(self, epochs: int) -> list[float]:
        """Train `epochs` epochs; return the seconds of each."""
        return [self.run_epoch() for _ in range(epochs)]


def trainer_like_loop(
    model: torch.nn.Module,
    train_dataset: torch.utils.data.Dataset,
    tokenizer: PreTrainedTokenizerBase,
    args: TrainingArguments,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
) -> PlainLoop:
    """
    The plain loop doing what the Trainer does with `args`: `torch.optim.AdamW` with its `optim` (fused or not),
    learning rate, betas, epsilon and weight decay, its learning-rate schedule over `num_train_epochs` (no warm-up),
    gradient clipping to `max_grad_norm`, and its batches: the length-grouped order of the hf_rnn Trainer's sampler
    (seeded with `args.data_seed`, else `args.seed`, and the epoch), padded per batch by `DataCollatorWithPadding`.

    `train_dataset` holds the tokenised train split (`input_ids`, `attention_mask`, `labels`); `model` is on `device`.
    """
    params = [param for param in model.parameters() if param.requires_grad]
    optimizer = torch.optim.AdamW(
        params,
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
        eps=args.adam_epsilon,
        weight_decay=args.weight_decay,
        fused=args.optim == "adamw_torch_fused",
    )
    batch_size = args.per_device_train_batch_size
    seed = args.data_seed if args.data_seed is not None else args.seed
    sampler = EpochSeededLengthGroupedSampler(batch_size, [len(ids) for ids in train_dataset["input_ids"]], seed)
    loader = torch.utils.data.DataLoader(
        train_dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=DataCollatorWithPadding(tokenizer),
        pin_memory=args.dataloader_pin_memory,
    )
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer, 0, math.ceil(args.num_train_epochs) * len(loader))

    def epoch_batches(epoch: int) -> torch.utils.data.DataLoader:
        sampler.set_epoch(epoch)
        return loader

    return PlainLoop(
        model, optimizer, epoch_batches, scheduler=scheduler, max_grad_norm=args.max_grad_norm, device=device,
        precision=precision,
    )  # fmt: skip
