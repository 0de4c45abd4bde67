"""The benchmark's orchestration: options, device and precision, the sections in turn, and the output files."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import asdict

import torch
from transformers import HfArgumentParser
from transformers import logging as transformers_logging

from hf_rnn.threads import default_num_threads
from hf_rnn.training import prepare_run
from hf_rnn.training_args import DataArguments, ModelArguments
from scripts.benchmark.arguments import BenchmarkArguments, Plan
from scripts.benchmark.inference import bench_inference
from scripts.benchmark.profiling import bench_profile
from scripts.benchmark.report import markdown
from scripts.benchmark.scaling import bench_scaling
from scripts.benchmark.serving import bench_serving
from scripts.benchmark.threads import bench_threads
from scripts.benchmark.training import bench_training, training_arguments


def machine(device: torch.device, threads: int) -> dict[str, object]:
    """The machine, device and library versions."""
    import accelerate
    import datasets
    import tokenizers
    import transformers

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "torch_threads": threads,
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "tokenizers": tokenizers.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def resolve_device(bench: BenchmarkArguments) -> torch.device:
    """The device `--device` names (auto: cuda if available), checked against `--precision`."""
    if bench.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(bench.device)
    if device.type == "cpu" and bench.precision == "fp16":
        raise SystemExit("--precision fp16 needs a GPU: on the CPU the Trainer leaves it off. Use bf16 or fp32.")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # packed sequences change shape every batch
    return device


def write_report(report: dict, output_dir: str) -> None:
    """`benchmark.json` (the results dict) and `benchmark.md` (`scripts.benchmark.report`) in `output_dir`."""
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "benchmark.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(output_dir, "benchmark.md"), "w") as handle:
        handle.write(markdown(report))


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(BenchmarkArguments, prog="python -m scripts.benchmark")
    (bench,) = parser.parse_args_into_dataclasses(args=argv)
    chosen = bench.section_names()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    device = resolve_device(bench)
    plan = Plan.make(bench.quick, bench.architectures.split(","))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        data_args = DataArguments(train_file=bench.train_file)
        run = prepare_run(ModelArguments(), data_args, training_arguments(bench, device, scratch, plan.epochs))
        report = {
            "command": shlex.join(["python", "-m", "scripts.benchmark", *argv]),
            "machine": machine(device, torch.get_num_threads()),
            "precision": bench.precision,
            "note": bench.note,
            "default_threads": default_num_threads(),
            "plan": asdict(plan),
            "epochs": plan.epochs,
            "training_examples": len(run.encoded["train"]),
            "section_seconds": {},
        }
        sections = {
            "training": lambda: bench_training(bench, plan, run, data_args, device, scratch),
            "inference": lambda: bench_inference(bench, plan, run, data_args, device),
            "scaling": lambda: bench_scaling(bench, plan, run, data_args, device),
            "profile": lambda: bench_profile(bench, plan, run, data_args, device),
            "threads": lambda: bench_threads(bench, plan, run, data_args, device),
            "serving": lambda: bench_serving(bench, plan, run, data_args, device),
        }
        for name in chosen:
            section = sections[name]
            begin = time.perf_counter()
            report[name] = section()
            report["section_seconds"][name] = time.perf_counter() - begin
    report["seconds"] = time.perf_counter() - started
    report["machine"]["load_average_at_end"] = os.getloadavg()
    write_report(report, bench.output_dir)
    print(f"done in {report['seconds']:.0f} s; results in {bench.output_dir}/benchmark.{{json,md}}")
    return report
