"""Train the NumPy manual RNN and RNNForSequenceClassification side by side on TREC and compare them.

    python scripts/manual_rnn.py [hf-rnn manual options]

The same as `hf-rnn manual`, except that without `--train_file` it reads `$HF_RNN_TREC_TRAIN` or the repository's
`../shared/data/trec/train_5500.label`. Writes `results/manual_rnn.json` and `results/manual_rnn.md`.
"""

import os
import sys

from hf_rnn.cli import main

DEFAULT_TRAIN_FILE = os.environ.get(
    "HF_RNN_TREC_TRAIN",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "trec", "train_5500.label"),
)

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(arg.startswith("--train_file") for arg in argv) and not (len(argv) == 1 and argv[0].endswith(".json")):
        argv = ["--train_file", os.path.relpath(DEFAULT_TRAIN_FILE), *argv]
    main(["manual", *argv])
