"""
A live demo of a saved hf_rnn classifier: a Gradio page with a text box, the predicted labels with their scores, and
a picture of the words the prediction rests on.

For a model with attention pooling the picture shows the attention weights of the pooling layer; for the other
poolings, and for exported (ONNX) models, per-word occlusion: how much the top label's score falls when the word is
masked out. The page's API has two endpoints: `/predict` (the labels, as `gr.Label` gives them) and `/explain` (the
words with their weights).

This module imports only NumPy and PyTorch at import time, and Gradio when a demo is built, never `hf_rnn`, so that a
Hub Space can ship it beside its `app.py` (see `hf_rnn.space`) and run it on a model loaded with
`trust_remote_code=True`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the demo never reports usage anywhere

EXAMPLES = (
    "Who wrote Hamlet ?",
    "What is the capital of Australia ?",
    "How many feet are in a mile ?",
    "Why is the sky blue ?",
    "What does NASA stand for ?",
)
DEFAULT_TEXT = EXAMPLES[0]
#: At most this many labels are shown (all of them for smaller label sets).
SHOWN_LABELS = 6
DEFAULT_PORT = 7860


def _scores(model: Any, logits: torch.Tensor) -> np.ndarray:
    """Softmax rows, or per-label sigmoids for a multi-label model."""
    if getattr(model.config, "problem_type", None) == "multi_label_classification":
        return torch.sigmoid(logits.float()).numpy()
    return torch.softmax(logits.float(), dim=-1).numpy()


def _encode(tokenizer: Any, text: str) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Token ids `(1, length)` of `text` and, for each word, its character span (the tokens' offsets joined)."""
    encoding = tokenizer(text, truncation=True, return_offsets_mapping=True, return_tensors="pt")
    spans: dict[int, list[int]] = {}
    for token, word in enumerate(encoding.word_ids()):
        if word is not None:
            spans.setdefault(word, []).append(token)
    offsets = encoding["offset_mapping"][0].tolist()
    words = [(offsets[tokens[0]][0], offsets[tokens[-1]][1], tokens) for _, tokens in sorted(spans.items())]
    return encoding["input_ids"], words


class Explainer:
    """
    Scores texts with `model` and tells which words mattered. `model` is an hf_rnn classifier (PyTorch, loaded with
    `hf_rnn` or with `trust_remote_code=True`) or an exported `OnnxClassifier`: anything whose call
    `model(input_ids=..., attention_mask=...)` returns `.logits` and that has a `config` with `id2label`.
    """

    def __init__(self, model: Any, tokenizer: Any):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = [model.config.id2label[index] for index in range(model.config.num_labels)]
        encoder = getattr(model, "encoder", None)
        self.attention = getattr(encoder, "attention", None) if isinstance(model, torch.nn.Module) else None
        self.method = "attention" if self.attention is not None else "occlusion"
        self._lock = threading.Lock()  # the attention hook is per model; one explanation at a time

    def _logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    def classify(self, text: str) -> dict[str, float]:
        """Every label with its score (what `gr.Label` shows)."""
        input_ids, _ = _encode(self.tokenizer, text or "")
        scores = _scores(self.model, self._logits(input_ids, torch.ones_like(input_ids)))[0]
        return {label: float(score) for label, score in zip(self.labels, scores)}

    def _attention_weights(self, input_ids: torch.Tensor) -> np.ndarray:
        captured = {}

        def hook(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            outputs, mask = inputs  # the pooling's own inputs; its weights are recomputed from them
            scores = module.score(torch.tanh(module.projection(outputs))).squeeze(-1)
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            captured["weights"] = torch.softmax(scores, dim=-1)

        with self._lock:
            handle = self.attention.register_forward_hook(hook)
            try:
                self._logits(input_ids, torch.ones_like(input_ids))
            finally:
                handle.remove()
        return captured["weights"][0].float().numpy()  # one unpadded row: aligned order is the text's order

    def _occlusion(self, input_ids: torch.Tensor, words: list[tuple[int, int, list[int]]]) -> np.ndarray:
        """Per token: the fall of the top label's score when the token's word is masked out (negative: a rise)."""
        length = input_ids.shape[1]
        masks = torch.ones(len(words) + 1, length, dtype=torch.long)
        for row, (_, _, tokens) in enumerate(words, start=1):
            masks[row, tokens] = 0
        scores = _scores(self.model, self._logits(input_ids.expand(len(masks), -1), masks))
        best = int(scores[0].argmax())
        drops = np.zeros(length, dtype=np.float32)
        for row, (_, _, tokens) in enumerate(words, start=1):
            drops[tokens] = (scores[0, best] - scores[row, best]) / len(tokens)
        return drops

    def explain(self, text: str) -> list[tuple[str, float | None]]:
        """
        The text cut into words and the spaces between them, each word with its weight scaled to [-1, 1] (the largest
        is 1), as `gr.HighlightedText` shows it; the spaces carry `None`.
        """
        text = text or ""
        input_ids, words = _encode(self.tokenizer, text)
        if not words:
            return [(text, None)] if text else []
        if self.method == "attention":
            per_token = self._attention_weights(input_ids)
        else:
            per_token = self._occlusion(input_ids, words)
        weights = np.array([per_token[tokens].sum() for _, _, tokens in words], dtype=np.float64)
        largest = np.abs(weights).max()
        if largest > 0:
            weights = weights / largest
        pieces: list[tuple[str, float | None]] = []
        position = 0
        for (start, end, _), weight in zip(words, weights):
            if start > position:
                pieces.append((text[position:start], None))
            pieces.append((text[start:end], round(float(weight), 4)))
            position = end
        if position < len(text):
            pieces.append((text[position:], None))
        return pieces

    @property
    def caption(self) -> str:
        if self.method == "attention":
            return "Words the model attended to: the attention pooling's weight of each word (darkest: the largest)."
        return (
            "Words the prediction rests on: how much the top label's score falls when the word is masked out "
            "(per-word occlusion; blue: the score rises without it)."
        )


def build_demo(
    model: Any,
    tokenizer: Any,
    title: str | None = None,
    description: str | None = None,
    examples: Sequence[str] = EXAMPLES,
) -> Any:
    """
    The Gradio app (`gr.Blocks`) of a classifier and its tokenizer. Launch it with `.launch(server_name="127.0.0.1")`.
    The API endpoints are `/predict` (text -> labels) and `/explain` (text -> words with their weights).
    """
    import gradio as gr

    explainer = Explainer(model, tokenizer)
    model_type = getattr(model.config, "model_type", "hf_rnn")
    title = title or f"hf_rnn {model_type.removeprefix('hf_')} classifier"
    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}" + (f"\n\n{description}" if description else ""))
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Text", value=DEFAULT_TEXT, lines=2, placeholder="Type a question")
                button = gr.Button("Classify", variant="primary")
                gr.Examples(list(examples), inputs=text)
            with gr.Column():
                labels = gr.Label(num_top_classes=min(SHOWN_LABELS, len(explainer.labels)), label="Labels")
                words = gr.HighlightedText(label="Words", show_legend=False, combine_adjacent=False)
                gr.Markdown(explainer.caption)
        gr.on([button.click, text.submit], explainer.classify, inputs=text, outputs=labels, api_name="predict")
        gr.on([button.click, text.submit], explainer.explain, inputs=text, outputs=words, api_name="explain")
        demo.load(explainer.classify, inputs=text, outputs=labels, api_visibility="private")
        demo.load(explainer.explain, inputs=text, outputs=words, api_visibility="private")
    return demo


def serve(
    model_name_or_path: str,
    server_port: int | None = None,
    server_name: str = "127.0.0.1",
    share: bool = False,
    title: str | None = None,
    num_threads: int | None = None,
) -> None:
    """
    `hf-rnn demo`: load the model (a PyTorch or exported directory, or a Hub id), start its page on `server_name`
    (loopback by default), print `{"local_url": ..., "share_url": ...}` as one JSON line, and serve until interrupted.
    """
    import json

    from .inference import load_classifier
    from .optional import require
    from .threads import configure_threads

    require("gradio", "demo", "hf-rnn demo")
    configure_threads(num_threads)
    model, tokenizer = load_classifier(model_name_or_path)
    demo = build_demo(model, tokenizer, title=title)
    demo.queue().launch(
        server_name=server_name, server_port=server_port, share=share, prevent_thread_lock=True, quiet=True
    )
    print(json.dumps({"local_url": demo.local_url, "share_url": demo.share_url}), flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
