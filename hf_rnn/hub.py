"""
Publishing trained models to the Hugging Face Hub: exactly the files a user needs, in one commit, or one clear error.

A directory written by `hf_rnn.training.train` holds the repo files (`REPO_FILES`: weights, `config.json` with
`auto_map`, the two code files, the tokenizer, the card, its two plots and `results.json`) and, beside them, local
training metadata that is never pushed: `trainer_state.json`, `training_config.json`, the `*_results.json` metrics,
`training_args.bin` (a pickle that needs `hf_rnn` to load) and the `checkpoint-*` folders. The card, its plots and
`results.json` are rendered again, in a temporary folder, for the repo they are pushed to (they name that repo, never
the
local folder); a push never writes to the local directory. A multi-label model's card has an F1-per-label plot instead
of the confusion matrix (`repo_files`).
Nothing here runs unless a push is asked for, and `HF_HUB_OFFLINE` forbids it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from datasets import DatasetDict
from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi, constants, get_token
from huggingface_hub.errors import HTTPError
from transformers import Trainer
from transformers.trainer_utils import HubStrategy, PredictionOutput

from .inference import TOKENIZER_FILES
from .model_card import (
    CARD_FILES,
    CardDataError,
    RecurrentModelCardData,
    build_card_data,
    card_files,
    write_model_card,
)

MODEL_FILES = ("model.safetensors", "config.json", "configuration_hf_rnn.py", "modeling_hf_rnn.py")
#: Every file of a pushed repo of a single-label model (the Hub adds its own `.gitattributes`); see `repo_files`.
REPO_FILES = MODEL_FILES + TOKENIZER_FILES + CARD_FILES

#: What a failed Hub call raises: HTTP and transport errors, offline mode and unreadable files, invalid ids or YAML.
_HUB_ERRORS = (HTTPError, OSError, ValueError)


class PushError(RuntimeError):
    """A push that did not happen. The message is one line that says why; nothing local was changed."""


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def repo_files(model_dir: str | os.PathLike) -> tuple[str, ...]:
    """The files a push of `model_dir` sends: `REPO_FILES`, or for a multi-label model the card files it has."""
    return MODEL_FILES + TOKENIZER_FILES + card_files(model_dir)


def _check_model_dir(model_dir: Path) -> None:
    from .inference import INCOMPLETE_MARKER

    if (model_dir / INCOMPLETE_MARKER).exists():  # its files may mix two runs: never publish them
        raise PushError(
            f"{model_dir / INCOMPLETE_MARKER}: the final save of {model_dir} was interrupted; run the training "
            "command again to finish it before pushing."
        )
    missing = [name for name in repo_files(model_dir) if not (model_dir / name).is_file()]
    if missing:
        raise PushError(
            f"{model_dir} lacks {', '.join(missing)}: push a directory written by `hf-rnn train` "
            "(`hf-rnn card` rewrites a missing card from results.json)."
        )
    if "auto_map" not in json.loads((model_dir / "config.json").read_text(encoding="utf-8")):
        raise PushError(f"{model_dir / 'config.json'} has no auto_map: save the model with `hf_rnn` imported.")


def _token(token: str | None) -> str:
    if constants.HF_HUB_OFFLINE:
        raise PushError("HF_HUB_OFFLINE is set: unset it to push to the Hub.")
    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: log in with `hf auth login` or set HF_TOKEN.")
    return token


def create_repo(repo_id: str, private: bool | None = None, token: str | None = None) -> str:
    """
    Create the model repo `repo_id` on the Hub, or keep it if it exists, and return its full id (`USER/NAME`).

    Raises:
        `PushError`: Offline mode, no token, the Hub unreachable or the repo refused (one-line message).
    """
    token = _token(token)
    try:
        return HfApi(token=token).create_repo(repo_id, private=private, exist_ok=True).repo_id
    except _HUB_ERRORS as error:
        raise PushError(f"could not create the repo {repo_id} on {constants.ENDPOINT}: {_one_line(error)}") from None


def push_model(
    model_dir: str | os.PathLike,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    space_id: str | None = None,
) -> CommitInfo:
    """
    Push a trained model directory to the Hub repo `repo_id`, creating the repo (and the branch `revision`) if needed.
    With `space_id`, also create the Gradio Space `space_id` that demonstrates it (`hf_rnn.space.push_space`).

    Exactly `repo_files(model_dir)` are committed, in one commit: the model and tokenizer files as they are, the card,
    its plots and `results.json` rendered for the repo's full id (a temporary copy; the local files keep their
    name). Other files of the directory stay local, and files already in the repo are left as they are.

    Args:
        model_dir: A directory written by `hf_rnn.training.train` (`hf-rnn train`).
        repo_id: `USER/NAME` or `ORG/NAME` (a bare `NAME` goes to the token's user).
        private: Make a new repo private (an existing repo keeps its visibility).
        revision: Branch to commit to (default: `main`).
        commit_message: Summary of the commit.
        token: Hugging Face token (default: `HF_TOKEN` or the one saved by `hf auth login`).
        space_id: `USER/NAME` of a Gradio Space to create (or update) with a demo of the pushed commit.

    Returns:
        `CommitInfo`: The model commit, with its URL.

    Raises:
        `PushError`: The directory is incomplete, offline mode is on, there is no token, the Hub cannot be reached or
            refuses the repo. The message is one line; the local directory is untouched.
    """
    model_dir = Path(model_dir)
    _check_model_dir(model_dir)
    if space_id is not None:
        from .space import check_space_id

        check_space_id(space_id)  # before anything is pushed
    try:
        card_data = RecurrentModelCardData.load(model_dir)
    except CardDataError as error:
        raise PushError(str(error)) from None
    token = _token(token)
    full_id = create_repo(repo_id, private=private, token=token)
    card_data.model_id = full_id
    operations = [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(model_dir / name))
        for name in MODEL_FILES + TOKENIZER_FILES
    ]
    operations += [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=content)
        for name, content in render_card_files(card_data).items()
    ]
    api = HfApi(token=token)
    try:
        if revision is not None:
            api.create_branch(full_id, branch=revision, exist_ok=True)
        commit = api.create_commit(
            full_id,
            operations,
            commit_message=commit_message or f"Upload {card_data.architecture} with its model card",
            revision=revision,
        )
    except _HUB_ERRORS as error:
        raise PushError(f"could not push {model_dir} to {full_id}: {_one_line(error)}") from None
    if space_id is not None:
        from .space import push_space

        push_space(space_id, full_id, revision=commit.oid, private=private, token=token)
    return commit


def render_card_files(card_data: RecurrentModelCardData) -> dict[str, bytes]:
    """The card files (`card_data.card_files`) rendered for `card_data.model_id`, as bytes, written nowhere."""
    with tempfile.TemporaryDirectory(prefix="hf-rnn-card-") as scratch:
        write_model_card(card_data, scratch)
        return {name: (Path(scratch) / name).read_bytes() for name in card_data.card_files}


class HubTrainer(Trainer):
    """
    A `Trainer` whose model card is the `hf_rnn` card and whose `push_to_hub` publishes exactly `repo_files`.

    `write_model_card` gathers the card data once the final model is scored (`hf_rnn.training.train` calls it) and
    keeps it as `card_data`. Saving never pushes (transformers' `save_model` pushes when `push_to_hub` is set, before
    the card exists); `train` pushes once, at the end. Only `hub_strategy="end"` is accepted: the other strategies
    upload the output directory during training, checkpoint files and `training_args.bin` included. The repo is created
    when the Trainer is built, so a push that cannot happen fails before training rather than after it.
    """

    card_data: RecurrentModelCardData | None = None

    def init_hf_repo(self, token: str | None = None, private: bool | None = None) -> None:
        """Check the push settings and create the repo (`PushError` if the Hub cannot be used)."""
        if self.args.hub_strategy != HubStrategy.END:
            raise ValueError(
                f"hf_rnn pushes the final model only: use --hub_strategy end, not {self.args.hub_strategy}."
            )
        if self.is_world_process_zero():
            self.hub_model_id = create_repo(
                self.args.hub_model_id or Path(self.args.output_dir).absolute().name,
                private=private if private is not None else self.args.hub_private_repo,
                token=token or self.args.hub_token,
            )
        self.push_in_progress = None

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        """Save the model and tokenizer to `output_dir` without pushing them."""
        super().save_model(output_dir, _internal_call=True)

    def write_model_card(
        self,
        data: DatasetDict,
        data_args: Any,
        test_output: PredictionOutput,
        metrics: dict[str, float],
        run_config: dict[str, dict[str, Any]],
        directory: str | os.PathLike | None = None,
    ) -> Path | None:
        """
        Gather the card data of the finished run (`hf_rnn.model_card.build_card_data`), keep it as `card_data`, and
        write the card, its plots and `results.json` into `directory` (default: `output_dir`).

        Args:
            data: The splits `hf_rnn.data.load_splits` returned (columns `text` and `label`).
            data_args: The run's `DataArguments`.
            test_output: `self.predict` on the test split (logits).
            metrics: The final metrics, with `eval_` (validation) and `test_` prefixes.
            run_config: `{"model": asdict(ModelArguments), "data": asdict(DataArguments)}`.
            directory: Where to write (e.g. a staging folder); default `output_dir`.

        Returns:
            The card's path, or None on a process other than the main one (which writes nothing).
        """
        self.card_data = build_card_data(self, data, data_args, test_output, metrics, run_config)
        if not self.is_world_process_zero():
            return None
        return write_model_card(self.card_data, directory if directory is not None else self.args.output_dir)

    def create_model_card(self, **kwargs: Any) -> None:
        """
        Write the card, its plots and `results.json` into `output_dir`. The card is generated from the run, so the
        draft-card options of transformers' `Trainer.create_model_card` (`language`, `tags`, ...) are not used.
        """
        if self.card_data is None:
            raise ValueError(
                "no card data yet: call `write_model_card` after the final evaluation (hf_rnn.training.train does)."
            )
        if self.is_world_process_zero():
            write_model_card(self.card_data, self.args.output_dir)

    def push_to_hub(
        self,
        commit_message: str | None = "End of training",
        blocking: bool = True,
        token: str | None = None,
        revision: str | None = None,
        private: bool | None = None,
        **kwargs: Any,
    ) -> CommitInfo | None:
        """Write the card into `output_dir` and publish its `REPO_FILES` with `push_model` (always blocking)."""
        self.callback_handler.on_push_begin(self.args, self.state, self.control)
        if self.hub_model_id is None:
            self.init_hf_repo(token=token, private=private)
        self.create_model_card(**kwargs)
        if not self.is_world_process_zero():
            return None
        return push_model(
            self.args.output_dir,
            self.hub_model_id,
            private=bool(private if private is not None else self.args.hub_private_repo),
            revision=revision or self.args.hub_revision,
            commit_message=commit_message,
            token=token or self.args.hub_token,
        )
