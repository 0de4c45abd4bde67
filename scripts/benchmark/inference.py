"""Inference section: questions per second of the raw model, tokenizer + model, pipeline and `predict`; latency."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, pipeline

from hf_rnn.inference import predict
from hf_rnn.training import PreparedRun
from hf_rnn.training_args import DataArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.measure import median
from scripts.benchmark.training import new_model
from scripts.common.plain_loop import autocast, sync


class InferencePaths:
    """The ways to classify questions with one model: raw model, tokenizer + model, pipeline, `hf_rnn` predict."""

    def __init__(self, model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, device: torch.device):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)

    def encode(self, chunk: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask of `chunk`, padded to its longest question, on the device."""
        return self.tokenizer(chunk, padding=True, truncation=True, return_tensors="pt").to(self.device)

    def raw(self, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities of tokenised questions."""
        return self.model(**encoded).logits.softmax(-1).cpu()

    def tokenizer_and_model(self, chunk: list[str]) -> list[str]:
        """Label names of questions, tokenised here."""
        return [self.model.config.id2label[index] for index in self.raw(self.encode(chunk)).argmax(-1).tolist()]

    def batched(self, texts: list[str], batch_size: int) -> dict[str, Callable[[], object]]:
        """Each path classifying all `texts`, `batch_size` at a time (the raw model's inputs tokenised beforehand)."""
        chunks = [texts[start : start + batch_size] for start in range(0, len(texts), batch_size)]
        encoded = [self.encode(chunk) for chunk in chunks]
        return {
            "raw_model": lambda: [self.raw(batch) for batch in encoded],
            "tokenizer_model": lambda: [self.tokenizer_and_model(chunk) for chunk in chunks],
            "pipeline": lambda: self.classifier(texts, batch_size=batch_size),
            "hf_rnn_predict": lambda: predict(self.model, self.tokenizer, texts, batch_size=batch_size),
        }

    def single(self, text: str) -> dict[str, Callable[[], object]]:
        """Each path classifying one question."""
        encoded = self.encode([text])
        return {
            "raw_model": lambda: self.raw(encoded),
            "tokenizer_model": lambda: self.tokenizer_and_model([text]),
            "pipeline": lambda: self.classifier(text),
            "hf_rnn_predict": lambda: predict(self.model, self.tokenizer, [text], batch_size=1),
        }


def measure_inference(paths: InferencePaths, texts: list[str], plan: Plan, device: torch.device) -> dict[str, dict]:
    """Questions per second of each path at each batch size (paths taking turns), and latency of one question."""
    result: dict[str, dict] = {"throughput": {}, "latency_ms": {}}
    for batch_size in plan.inference_batch_sizes:
        timed = paths.batched(texts, batch_size)
        for function in timed.values():  # warm-up
            function()
        seconds = {name: [] for name in timed}
        for _ in range(plan.repetitions):
            for name, function in timed.items():
                sync(device)
                start = time.perf_counter()
                function()
                sync(device)
                seconds[name].append(time.perf_counter() - start)
        result["throughput"][batch_size] = {name: len(texts) / median(values) for name, values in seconds.items()}
    samples: dict[str, list[float]] = {}
    for text in texts[: plan.latency_questions]:  # the paths take turns question by question
        for name, function in paths.single(text).items():
            start = time.perf_counter()
            function()
            samples.setdefault(name, []).append(time.perf_counter() - start)
    for name, values in samples.items():
        result["latency_ms"][name] = {"p50": 1e3 * float(np.percentile(values, 50)),
                                      "p99": 1e3 * float(np.percentile(values, 99))}  # fmt: skip
    largest = result["throughput"][max(plan.inference_batch_sizes)]
    result["pipeline_ratio_largest_batch"] = largest["pipeline"] / largest["tokenizer_model"]
    return result


def bench_inference(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, data_args: DataArguments, device: torch.device
) -> dict[str, dict]:
    """Inference throughput and latency of each architecture (`plan.inference_architectures`)."""
    texts = [text for split in ("validation", "test", "train") for text in run.data[split]["text"]]
    texts = texts[: plan.inference_questions]
    results = {}
    for arch in plan.inference_architectures:
        torch.manual_seed(bench.seed)
        model = new_model(run, data_args, arch).to(device).eval()
        with torch.inference_mode(), autocast(device, bench.precision):
            results[arch] = measure_inference(InferencePaths(model, run.tokenizer, device), texts, plan, device)
        print(f"inference {arch}: {json.dumps(results[arch]['throughput'])}")
    return results
