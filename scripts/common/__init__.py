"""Code shared by the scripts: the one hand-written PyTorch training loop (`scripts.common.plain_loop`), one-thread
throughput (`scripts.common.throughput`), and `existing_folders` for options that name folders."""

from __future__ import annotations

import os


def existing_folders(value: str | None, option: str, prog: str) -> list[str]:
    """The comma-separated folders of an option's `value` (none for `None`); exits naming the first missing one."""
    folders = [folder for folder in (value or "").split(",") if folder]
    for folder in folders:
        if not os.path.isdir(folder):
            raise SystemExit(f"{prog}: error: {option}: no such folder: {folder}")
    return folders
