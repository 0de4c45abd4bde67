"""The per-epoch history a model card plots: training and validation loss and accuracy, kept across resumes."""

from __future__ import annotations

from typing import Any

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState


def short_epoch(epoch: float | None) -> float | int:
    """An epoch count as a short number: 2 rather than 2.0, 1.5 rather than 1.4999999."""
    epoch = round(epoch or 0.0, 4)
    return int(epoch) if epoch.is_integer() else epoch


class TrainingHistoryCallback(TrainerCallback, ExportableState):
    """
    Records, for every epoch, the training loss and accuracy and the validation loss and accuracy.

    The training figures are running averages: a forward hook on the model counts the loss and the correct predictions
    of every training batch, so they cover the same batches as the Trainer's logged training loss (dropout on, weights
    changing within the epoch) and cost no extra forward pass. A separate evaluation of the train split after each
    epoch would add about a third of an epoch's time to every epoch; the running accuracy instead trails the
    end-of-epoch model by about half an epoch, which the card says. For a multi-label model a prediction is correct
    when its whole label set is (subset accuracy, labels whose sigmoid reaches the config's `multi_label_threshold`),
    as the validation accuracy is. The history is part of the callback's exportable state, so it is saved in every
    checkpoint and restored when training resumes.
    """

    def __init__(self):
        self.history: list[dict[str, float]] = []
        self._hook = None
        self._reset_counts()

    def state(self) -> dict:
        return {"args": {}, "attributes": {"history": self.history}}

    def _reset_counts(self) -> None:
        self._loss_sum, self._correct, self._seen = 0.0, 0, 0

    def _count(self, module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        labels = kwargs.get("labels")
        if module.training and labels is not None and getattr(output, "loss", None) is not None:
            with torch.no_grad():
                self._loss_sum += float(output.loss) * labels.shape[0]
                logits = output.logits
                if labels.shape == logits.shape:  # multi-hot rows: a multi-label batch
                    threshold = getattr(module.config, "multi_label_threshold", 0.5)
                    predicted = torch.sigmoid(logits) >= threshold
                    self._correct += int((predicted == (labels > 0.5)).all(dim=-1).sum())
                else:
                    self._correct += int((logits.argmax(dim=-1) == labels).sum())
            self._seen += labels.shape[0]

    def _record(self, state) -> dict[str, float]:
        """The history entry of the current step, created if needed."""
        if not self.history or self.history[-1]["step"] != state.global_step:
            self.history.append(
                {"epoch": short_epoch(state.epoch), "step": state.global_step}
                | dict.fromkeys(("train_loss", "train_accuracy", "validation_loss", "validation_accuracy"))
            )
        return self.history[-1]

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        stored = state.stateful_callbacks.get(type(self).__name__) if state.global_step > 0 else None
        self.history = list(stored["attributes"]["history"]) if isinstance(stored, dict) else []
        self._reset_counts()
        self._hook = model.register_forward_hook(self._count, with_kwargs=True)

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._seen:
            record = self._record(state)
            record["train_loss"] = self._loss_sum / self._seen
            record["train_accuracy"] = self._correct / self._seen
        self._reset_counts()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self._hook is None:  # an evaluation after training is not part of the history
            return
        record = self._record(state)
        record["validation_loss"] = metrics.get("eval_loss")
        record["validation_accuracy"] = metrics.get("eval_accuracy")

    def on_train_end(self, args, state, control, **kwargs):
        self._hook.remove()
        self._hook = None
