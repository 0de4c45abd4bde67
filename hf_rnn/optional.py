"""Optional dependencies: import them where a feature needs them, or fail with one line naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

#: The extras of `pyproject.toml` and what each brings.
EXTRAS = {"export": ("onnx", "onnxruntime"), "demo": ("gradio", "gradio_client")}


class MissingExtraError(ImportError):
    """An optional package is not installed; the message is one line with the `pip install` command."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module`, or raise `MissingExtraError` saying that `feature` needs the extra `extra`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f'{feature} needs {module}, which is not installed: pip install "hf_rnn[{extra}]"'
        ) from error
