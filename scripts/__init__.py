"""The repository's scripts (benchmark, reproduction, baselines, reference models).

Run them as modules from the repository root, e.g. `python -m scripts.reproduce --help`, so that they import each
other (`scripts.common`, `scripts.baselines`) as packages without editing `sys.path`.
"""
