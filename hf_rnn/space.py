"""
A Gradio Space for a pushed model, so that anyone can try it on the Hub without installing `hf_rnn`.

The Hub's hosted widget does not run models tagged `custom_code`; a Space does. `space_files(model_id, revision)`
renders the Space repo: `app.py` loads the model repo with `trust_remote_code=True` at the pushed commit (the code
it runs is the code that was pushed, never a later one) and starts the same page as `hf-rnn demo`, whose module
(`hf_rnn/demo.py`, which imports no `hf_rnn`) travels beside it as `hf_rnn_demo.py`; `requirements.txt` names what it
needs beyond Gradio; `README.md` holds the Space settings. `push_space` creates the Space and commits them, as
`hf-rnn push --space USER/NAME` does after pushing the model.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi, constants

DEMO_MODULE = "hf_rnn_demo.py"
SPACE_FILES = ("README.md", "app.py", "requirements.txt", DEMO_MODULE)
#: The Gradio version a Space runs when this one cannot be read (the `demo` extra's lower bound).
FALLBACK_GRADIO_VERSION = "6.0.0"

APP_TEMPLATE = '''"""Gradio Space of the hf_rnn model {model_id}: a text, its labels and the words they rest on."""

from transformers import AutoModelForSequenceClassification, AutoTokenizer

from hf_rnn_demo import build_demo

MODEL_ID = {model_id!r}
#: The model repo's commit this Space was made for: its remote code is the code that runs here.
REVISION = {revision!r}

model = AutoModelForSequenceClassification.from_pretrained(MODEL_ID, revision=REVISION, trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained(MODEL_ID, revision=REVISION)
demo = build_demo(model, tokenizer, title={title!r}, description={description!r})

if __name__ == "__main__":
    demo.queue().launch()
'''

README_TEMPLATE = """---
title: {title}
emoji: 🔎
colorFrom: blue
colorTo: green
sdk: gradio
sdk_version: {gradio_version}
app_file: app.py
pinned: false
models:
- {model_id}
short_description: Try the hf_rnn text classifier {model_id}
---

# {title}

A live demo of [{model_id}]({endpoint}/{model_id}), a recurrent text classifier made with `hf_rnn`: type a text and
see its labels with their scores, and which words the model attended to (the attention pooling's weights; per-word
occlusion for the other poolings). The model is loaded with `trust_remote_code=True` at commit `{revision}`.

The same page runs locally with `hf-rnn demo --model_name_or_path DIR` (`pip install "hf_rnn[demo]"`).
"""


class SpaceError(ValueError):
    """A Space id or model id that cannot be used; the message is one line."""


def _version(distribution: str, fallback: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return fallback


def _minor(distribution: str, fallback: str) -> str:
    """`MAJOR.MINOR` of the installed `distribution` (the lower bound a Space is given)."""
    return ".".join(_version(distribution, fallback).split("+")[0].split(".")[:2])


def space_files(model_id: str, revision: str | None = None, title: str | None = None) -> dict[str, bytes]:
    """
    The files of a Gradio Space showing the model repo `model_id` (at commit `revision`, default: its main branch).

    Returns:
        `{path: content}` for `README.md`, `app.py`, `requirements.txt` and `hf_rnn_demo.py`.
    """
    if model_id.count("/") != 1 or not all(model_id.split("/")):
        raise SpaceError(f"model id {model_id!r}: expected USER/NAME.")
    name = model_id.split("/")[1]
    title = title or name
    description = f"Model: [{model_id}]({constants.ENDPOINT}/{model_id})"
    transformers = _minor("transformers", "5.0")
    torch = _minor("torch", "2.4")
    files = {
        "app.py": APP_TEMPLATE.format(model_id=model_id, revision=revision, title=title, description=description),
        "requirements.txt": f"torch>={torch}\ntransformers>={transformers},<6\nnumpy\n",
        "README.md": README_TEMPLATE.format(
            title=title[:60],
            model_id=model_id,
            revision=revision or "main",
            endpoint=constants.ENDPOINT,
            gradio_version=_version("gradio", FALLBACK_GRADIO_VERSION),
        ),
        DEMO_MODULE: Path(__file__).with_name("demo.py").read_text(encoding="utf-8"),
    }
    return {path: content.encode("utf-8") for path, content in files.items()}


def check_space_id(space_id: str) -> None:
    """Raise `hf_rnn.hub.PushError` unless `space_id` is `USER/NAME` (or `ORG/NAME`)."""
    from .hub import PushError

    if space_id.count("/") != 1 or not all(space_id.split("/")):
        raise PushError(f"Space id {space_id!r}: expected USER/NAME (or ORG/NAME).")


def push_space(
    space_id: str,
    model_id: str,
    revision: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> CommitInfo:
    """
    Create the Gradio Space `space_id` (`USER/NAME`; kept if it exists) and commit `space_files(model_id, revision)`.

    Raises:
        `hf_rnn.hub.PushError`: Offline mode, no token, the Hub unreachable or the Space refused (one line).
    """
    from .hub import _HUB_ERRORS, PushError, _one_line, _token

    check_space_id(space_id)
    token = _token(token)
    api = HfApi(token=token)
    try:
        full_id = api.create_repo(
            space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True
        ).repo_id
        operations = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)
            for path, content in space_files(model_id, revision).items()
        ]
        return api.create_commit(
            full_id,
            operations,
            repo_type="space",
            commit_message=commit_message or f"Gradio demo of {model_id}",
        )
    except _HUB_ERRORS as error:
        raise PushError(f"could not push the Space {space_id} on {constants.ENDPOINT}: {_one_line(error)}") from None
