"""`python -m scripts.benchmark [options]`: see `scripts.benchmark`."""

from scripts.benchmark.run import main

main()
