"""`results/benchmark.md`: the benchmark's results dict rendered as Markdown, one function per section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scripts.benchmark.measure import median

GPU_COMMAND = "python -m scripts.benchmark --device cuda --precision bf16"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table: the header, its rule and one line per row (cells already formatted)."""

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(cell) for cell in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]


def section(heading: str, *blocks: Sequence[str] | str) -> list[str]:
    """A heading and its blocks (a paragraph, or the lines of a table), each followed by a blank line."""
    lines = [heading, ""]
    for block in blocks:
        lines += [block, ""] if isinstance(block, str) else [*block, ""]
    return lines


def numbers(values: Iterable[float]) -> str:
    """Comma-separated values with one decimal (load averages)."""
    return ", ".join(f"{value:.1f}" for value in values)


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def header(report: dict) -> list[str]:
    m = report["machine"]
    gpu = f" ({m['gpu']}, cuDNN {m['cudnn']})" if "gpu" in m else ""
    machine = (
        f"Machine: {m['processor']}, {m['cpu_count']} CPUs, device {m['device']}{gpu}, torch threads "
        f"{m['torch_threads']}, precision {report['precision']}; load average at start "
        f"{numbers(m['load_average_at_start'])}. Python {m['python']}, torch {m['torch']}, transformers "
        f"{m['transformers']}, accelerate {m['accelerate']}, datasets {m['datasets']}, tokenizers {m['tokenizers']}."
    )
    blocks = [f"Command: `{report['command']}`", machine]
    if report["note"]:
        blocks.append(f"Note: {report['note']}")
    if "gpu" not in m:
        blocks.append(f"GPU: not measured in this run (no GPU on this machine); on a GPU machine run `{GPU_COMMAND}`.")
    return section("# hf_rnn benchmark", *blocks)


def targets(report: dict) -> list[str]:
    """The targets of the sections run (a section left out by `--sections` has none here)."""
    rows = [
        (f"training {arch}: Trainer / plain loop >= 0.9", f"{row['ratio']:.3f}x", verdict(row["ratio"] >= 0.9))
        for arch, row in report.get("training", {}).items()
    ]
    for arch, row in report.get("inference", {}).items():
        ratio, largest = row["pipeline_ratio_largest_batch"], max(map(int, row["throughput"]))
        rows.append(
            (f"inference {arch}: pipeline / tokenizer+model at batch size {largest} >= 0.8", f"{ratio:.3f}x",
             verdict(ratio >= 0.8))
        )  # fmt: skip
    if "scaling" in report:
        slope = report["scaling"]["time_slope_long"]
        rows.append(
            ("scaling: time per example grows linearly with length (log-log slope 0.8-1.2, length >= 256)",
             f"{slope:.2f}", verdict(0.8 <= slope <= 1.2))
        )  # fmt: skip
    ratios = [row["over_teacher"]["64"] for name, row in report.get("serving", {}).get("rows", {}).items()
              if name != "teacher" and "over_teacher" in row]  # fmt: skip
    if ratios:
        rows.append(("serving: best student / teacher at batch size 64 >= 100x", f"{max(ratios):.1f}x",
                     verdict(max(ratios) >= 100)))  # fmt: skip
    return section("## Targets", table(("target", "measured", "verdict"), rows)) if rows else []


def training(report: dict) -> list[str]:
    if "training" not in report:
        return []
    train = report["training"]
    explanation = (
        "Both sides: the same model class and initial weights, `torch.optim.AdamW` as the Trainer builds it "
        f"(`optim={next(iter(train.values()))['optim']}`), learning rate, linear schedule and gradient clipping, the "
        "same length-grouped padded batches (sampler and collator) and threads. Epochs alternate (Trainer, plain, "
        "plain, Trainer, Trainer, ...: each side as often first after the Trainer's validation). Per-epoch validation "
        "and checkpointing are excluded from both; the Trainer's time between epochs (logging, validation of the "
        "validation split, checkpoint) is listed on its own."
    )
    columns = ("architecture", "Trainer examples/s", "plain loop examples/s", "ratio", "Trainer s/epoch",
               "plain s/epoch", "Trainer validation + checkpoint s/epoch")  # fmt: skip
    rows = [
        (arch, f"{row['trainer_examples_per_s']:.0f}", f"{row['plain_examples_per_s']:.0f}", f"{row['ratio']:.2f}",
         f"{median(row['trainer_epoch_seconds']):.2f}", f"{median(row['plain_epoch_seconds']):.2f}",
         f"{median(row['trainer_between_epochs_seconds']):.2f}" if row["trainer_between_epochs_seconds"] else "-")
        for arch, row in train.items()
    ]  # fmt: skip
    heading = f"## Training ({report['training_examples']} examples per epoch, median of {report['epochs']} epochs)"
    return section(heading, explanation, table(columns, rows))


def inference(report: dict) -> list[str]:
    if "inference" not in report:
        return []
    lines = ["## Inference (questions per second)", ""]
    columns = ("batch size", "raw model", "tokenizer + model", "pipeline", "`hf_rnn.inference.predict`",
               "pipeline / tokenizer+model", "pipeline cost beyond tokenizer+model, us per question")  # fmt: skip
    for arch, row in report["inference"].items():
        rows = [
            (batch_size, f"{rates['raw_model']:.0f}", f"{rates['tokenizer_model']:.0f}", f"{rates['pipeline']:.0f}",
             f"{rates['hf_rnn_predict']:.0f}", f"{rates['pipeline'] / rates['tokenizer_model']:.2f}",
             f"{1e6 / rates['pipeline'] - 1e6 / rates['tokenizer_model']:.0f}")
            for batch_size, rates in row["throughput"].items()
        ]  # fmt: skip
        latency = ", ".join(
            f"{name} p50 {value['p50']:.2f} / p99 {value['p99']:.2f}" for name, value in row["latency_ms"].items()
        )
        lines += section(f"### {arch}", table(columns, rows), f"Latency of one question (ms): {latency}")
    return lines


def scaling(report: dict) -> list[str]:
    if "scaling" not in report:
        return []
    result = report["scaling"]
    rows = [
        (row["batch_size"], row["length"], f"{row['ms_per_example']:.3f}", f"{row['us_per_token']:.2f}",
         f"{row['peak_mib_per_example']:.3f}")
        for row in result["by_length"] + result["by_batch_size"]
    ]  # fmt: skip
    slopes = (
        f"Log-log slope against length (lengths >= 256): time {result['time_slope_long']:.2f}, peak memory "
        f"{result['memory_slope_long']:.2f} (1 = linear)."
    )
    return section(
        f"## Scaling ({result['model']}, {result['step']}, every token real)",
        table(("batch size", "length", "ms per example", "us per token", "peak MiB per example"), rows),
        slopes,
    )


def profiling(report: dict) -> list[str]:
    if "profile" not in report:
        return []
    prof = report["profile"]
    phases = ", ".join(f"{name} {100 * share:.0f}%" for name, share in prof["phase_share"].items())
    operators = table(
        ("operator", f"share of self time (`{prof['self_time']}`)", "calls"),
        [(f"`{op['op']}`", f"{100 * op['self_share']:.1f}%", op["calls"]) for op in prof["top_ops"]],
    )
    optimizers = table(
        ("optimizer", "ms per step"), [(name, f"{ms:.2f}") for name, ms in prof["optimizer_step_ms"].items()]
    )
    layer_intro = (
        "LSTM layer (forward + backward) against the same matrix products run alone "
        f"(square 1024 matmul on this machine: {prof['square_matmul_1024_gflops']:.1f} GFLOP/s):"
    )
    columns = ("batch", "lengths", "packed", "GFLOP", "layer ms", "matmuls ms", "layer GFLOP/s", "matmul GFLOP/s",
               "layer at % of matmul throughput")  # fmt: skip
    rows = [
        (row["batch_size"], row["lengths"], row["packed"], f"{row['gflop']:.3f}", f"{row['layer_ms']:.2f}",
         f"{row['matmul_ms']:.2f}", f"{row['layer_gflops']:.1f}", f"{row['matmul_gflops']:.1f}",
         f"{100 * row['fraction_of_matmul_throughput']:.0f}%")
        for row in prof["lstm_layer_vs_matmul"]
    ]  # fmt: skip
    return section(
        f"## Profile (LSTM, {prof['steps']} training steps of the plain loop, batch size 32)",
        f"Share of step time by phase: {phases}", operators,
        "Optimizer step of the LSTM classifier (all parameters, dense gradients):", optimizers,
        layer_intro, table(columns, rows),
    )  # fmt: skip


def threads(report: dict) -> list[str]:
    if "threads" not in report:
        return []
    result = report["threads"]
    cores = result["cores"]
    rows = [
        (name, f"{row['examples_per_s_1_thread']:.0f}", f"{row[f'examples_per_s_{cores}_threads']:.0f}",
         f"{row['speedup_all_cores']:.2f}")
        for name, row in result["workloads"].items()
    ]  # fmt: skip
    columns = ("workload", "examples/s, 1 thread", f"examples/s, {cores} threads", f"speed-up with {cores} threads")
    default = f"Package default: {report['default_threads']} thread(s) (`hf_rnn.threads.default_num_threads`)."
    return section(f"## Threads (1 against {cores}, alternating, LSTM)", table(columns, rows), default)


def serving(report: dict) -> list[str]:
    result = report.get("serving")
    if result is None:
        return []
    if "skipped" in result:
        return section("## Serving", f"Not measured: {result['skipped']}.")
    sizes = result["batch_sizes"]
    columns = ("model", "size MB", "validation acc", *(f"texts/s, batch {size}" for size in sizes),
               "latency p50 ms", "latency p99 ms", *(f"x teacher, batch {size}" for size in sizes))  # fmt: skip
    rows = []
    for row in result["rows"].values():
        if "skipped" in row:
            rows.append((row["description"], f"skipped: {row['skipped']}", *["-"] * (len(columns) - 2)))
            continue
        accuracy = row["validation_accuracy"]
        ratios = row.get("over_teacher", {})
        rows.append(
            (row["description"], f"{row['size_mb']:.1f}", "-" if accuracy is None else f"{100 * accuracy:.2f}",
             *(f"{row['texts_per_second'][str(size)]:.0f}" for size in sizes), f"{row['latency_ms']['p50']:.2f}",
             f"{row['latency_ms']['p99']:.2f}", *(f"{ratios[str(size)]:.1f}" if ratios else "-" for size in sizes))
        )  # fmt: skip
    explanation = (
        f"One CPU thread (torch, ONNX Runtime and the tokenizer), the {result['texts']} validation questions in file "
        f"order, tokenizer + model; texts per second: median of {result['repeats']} passes, the rows taking turns; "
        "latency: every batch-1 call of those passes, tokenization included. ONNX rows: the student exported by "
        "`hf_rnn.export.export_onnx`. Validation accuracy where the model's labels are the data's."
    )
    return section("## Serving (one CPU thread, same run)", explanation, table(columns, rows))


def footer(report: dict) -> list[str]:
    sections = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in report["section_seconds"].items())
    load = numbers(report["machine"]["load_average_at_end"])
    return [f"Benchmark time: {report['seconds']:.0f} s ({sections}); load average at the end {load}.", ""]


SECTIONS = (header, targets, training, inference, scaling, profiling, threads, serving, footer)


def markdown(report: dict) -> str:
    """The report (the results dict `scripts.benchmark.run.main` writes to `benchmark.json`) as Markdown."""
    return "\n".join(line for render in SECTIONS for line in render(report))
