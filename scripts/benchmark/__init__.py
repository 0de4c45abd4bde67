"""Benchmark hf_rnn against a plain PyTorch loop: training, inference, scaling, profile and threads.

    python -m scripts.benchmark --quick                          # CPU, under 2 minutes on 2 cores
    python -m scripts.benchmark                                  # CPU, more epochs, repetitions and points
    python -m scripts.benchmark --device cuda --precision bf16   # GPU (--precision fp16 where bf16 is missing)

run from the repository root; writes `results/benchmark.json` and `results/benchmark.md` (`--output_dir`). Every
comparison is measured in one run, the two sides taking turns (epoch by epoch, or repetition by repetition), and
reported as a median, so that a load shared by both sides affects both alike. One module per section:

- `training`: examples per second of each architecture through `hf_rnn.training.build_trainer` (the package's
  Trainer and default arguments) and through the scripts' hand-written loop (`scripts.common.plain_loop`) with the
  same model class and initial weights, the same optimizer (`torch.optim.AdamW` with the Trainer's `optim`, learning
  rate, linear schedule and gradient clipping), the same length-grouped padded batches (same sampler and collator)
  and the same threads. A Trainer epoch is timed from `on_epoch_begin` to `on_epoch_end`; its per-epoch validation
  and checkpoint come after `on_epoch_end` and are excluded from both sides (the hand-written loop has none), and
  reported on their own.
- `inference`: questions per second at several batch sizes through the raw model (tokenised tensors prepared
  beforehand), the tokenizer plus the model, `pipeline("text-classification")` given `batch_size`, and
  `hf_rnn.inference.predict`; latency p50 and p99 of one question.
- `scaling`: time and peak memory per example of a training step (forward, backward) against sequence length and
  batch size.
- `profiling`: where a training step's time goes, and the LSTM layer against the time of its own matrix products.
- `threads`: 1 thread against all cores, for training steps, inference and a long-sequence step.
- `serving` (with `--serving_model DIR`, optionally `--serving_teacher DIR`): one CPU thread, teacher (PyTorch) against
  the student in PyTorch, ONNX fp32 and ONNX int8: texts per second at batch sizes 1 and 64, latency p50 and p99.

`--sections serving` (any comma-separated subset) runs only the sections named.

`arguments` holds the options and the plan of each section, `measure` the timing helpers, `run` the orchestration
(device and precision, sections, output files) and `report` the Markdown writer.
"""
