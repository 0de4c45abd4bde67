"""
Profile section: phases and top operators of the plain loop's LSTM training steps, the LSTM layer against the matrix
products it performs, and the optimizer implementations.
"""

from __future__ import annotations

import functools
import itertools
import json

import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch.profiler import ProfilerActivity, profile

from hf_rnn.training import PreparedRun
from hf_rnn.training_args import DataArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.measure import median, time_function
from scripts.benchmark.training import lstm_plain_loop
from scripts.common.plain_loop import autocast, sync


def lstm_matmul_shapes(batch_sizes: list[int], input_size: int, hidden: int) -> list[tuple[int, int, int]]:
    """
    The matrix products `(m, k, n)` of one LSTM layer's forward and backward pass over steps of `batch_sizes` rows
    (a packed sequence's `batch_sizes`): the input projection of all tokens at once, one recurrent product per step,
    and their gradients.
    """
    gates, tokens = 4 * hidden, sum(batch_sizes)
    return [
        (tokens, input_size, gates),  # forward: x W_ih^T, all tokens
        *((rows, hidden, gates) for rows in batch_sizes),  # forward: h_{t-1} W_hh^T, per step
        *((rows, gates, hidden) for rows in batch_sizes),  # backward: dG_t W_hh, per step
        (tokens, gates, input_size),  # backward: dG W_ih (input gradient)
        (gates, tokens, input_size),  # backward: dG^T x (W_ih gradient)
        (gates, tokens, hidden),  # backward: dG^T h (W_hh gradient)
    ]


def layer_against_matmuls(lengths: list[int], device: torch.device, precision: str) -> dict[str, object]:
    """
    Time one LSTM layer (forward and backward) over rows of `lengths` tokens, packed if they differ, against the same
    matrix products run alone; the two take turns.
    """
    hidden = embedding = 128
    lstm = torch.nn.LSTM(embedding, hidden, batch_first=True).to(device)
    inputs = torch.randn(len(lengths), max(lengths), embedding, device=device, requires_grad=True)
    packed = len(set(lengths)) > 1
    batch_sizes = [sum(length > step for length in lengths) for step in range(max(lengths))]

    def layer() -> None:
        with autocast(device, precision):
            if packed:
                source = pack_padded_sequence(inputs, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
                outputs = lstm(source)[0].data
            else:
                outputs = lstm(inputs)[0]
        outputs.float().sum().backward()

    shapes = lstm_matmul_shapes(batch_sizes, embedding, hidden)
    operands = [(torch.randn(m, k, device=device), torch.randn(k, n, device=device)) for m, k, n in shapes]

    def matmuls() -> None:
        with autocast(device, precision):
            for left, right in operands:
                torch.mm(left, right)

    flops = sum(2 * m * k * n for m, k, n in shapes)
    layer_seconds, matmul_seconds = [], []
    for _ in range(5):
        layer_seconds.append(time_function(layer, device, 3))
        matmul_seconds.append(time_function(matmuls, device, 3))
    layer_time, matmul_time = median(layer_seconds), median(matmul_seconds)
    return {
        "batch_size": len(lengths), "lengths": f"{min(lengths)}-{max(lengths)}" if packed else str(lengths[0]),
        "packed": packed, "gflop": flops / 1e9, "layer_ms": 1e3 * layer_time, "matmul_ms": 1e3 * matmul_time,
        "layer_gflops": flops / layer_time / 1e9, "matmul_gflops": flops / matmul_time / 1e9,
        "fraction_of_matmul_throughput": matmul_time / layer_time,
    }  # fmt: skip


def run_steps(optimizer: torch.optim.Optimizer, steps: int) -> None:
    """`steps` optimizer steps."""
    for _ in range(steps):
        optimizer.step()


def optimizer_step_ms(model: torch.nn.Module, device: torch.device, steps: int = 20) -> dict[str, float]:
    """Milliseconds per optimizer step of `model` (its gradients as they are) for the AdamW/Adam implementations."""
    params = [param for param in model.parameters() if param.requires_grad]
    for param in params:
        param.grad = torch.randn_like(param)
    variants = {
        "AdamW fused (optim=adamw_torch_fused)": lambda: torch.optim.AdamW(params, lr=1e-4, fused=True),
        "AdamW foreach": lambda: torch.optim.AdamW(params, lr=1e-4, foreach=True),
        "AdamW for-loop": lambda: torch.optim.AdamW(params, lr=1e-4, foreach=False),
        "Adam for-loop (as in results/manual_rnn.md)": lambda: torch.optim.Adam(params, lr=1e-4, foreach=False),
    }
    optimizers = {name: make() for name, make in variants.items()}
    seconds = {name: [] for name in variants}
    for _ in range(3):  # the implementations take turns
        for name, optimizer in optimizers.items():
            seconds[name].append(time_function(functools.partial(run_steps, optimizer, steps), device, 1) / steps)
    model.zero_grad(set_to_none=True)
    return {name: 1e3 * median(values) for name, values in seconds.items()}


def bench_profile(
    bench: BenchmarkArguments, plan: Plan, run: PreparedRun, data_args: DataArguments, device: torch.device
) -> dict[str, object]:
    """Phases and top operators of the plain loop's LSTM training steps; the LSTM layer against its matrix products."""
    plain = lstm_plain_loop(bench, run, data_args, device)
    for batch in itertools.islice(plain.batches(), 5):  # warm-up
        plain.step(batch)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for batch in itertools.islice(plain.batches(), plan.profile_steps):
            plain.step(batch)
        sync(device)
    averages = prof.key_averages()
    self_time = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    phases = {event.key: event.cpu_time_total for event in averages if event.key in
              ("data", "forward", "backward", "clip_grad_norm", "optimizer")}  # fmt: skip
    total = sum(phases.values())
    top = sorted(averages, key=lambda event: getattr(event, self_time), reverse=True)[:12]
    self_total = sum(getattr(event, self_time) for event in averages)

    # The recurrent layer alone against the matrix products it performs: a typical batch (equal lengths, and mixed
    # lengths as packing gives them) and a long one.
    shapes = ([12] * 32, [12] * 16 + [11] * 8 + [10] * 8, [256] * 32)
    layer_vs_matmul = [layer_against_matmuls(lengths, device, bench.precision) for lengths in shapes]
    optimizer_ms = optimizer_step_ms(plain.model, device)
    square = torch.randn(1024, 1024, device=device)
    peak_seconds = time_function(lambda: torch.mm(square, square), device, 5)
    result = {
        "steps": plan.profile_steps,
        "self_time": self_time,
        "phase_share": {name: value / total for name, value in phases.items()},
        "top_ops": [
            {"op": event.key, "self_share": getattr(event, self_time) / self_total, "calls": event.count}
            for event in top
        ],
        "lstm_layer_vs_matmul": layer_vs_matmul,
        "square_matmul_1024_gflops": 2 * 1024**3 / peak_seconds / 1e9,
        "optimizer_step_ms": optimizer_ms,
    }
    print(f"profile: phases {json.dumps({k: round(v, 3) for k, v in result['phase_share'].items()})}")
    return result
