"""Named, reproducible experiments and benchmarks: ``python -m experiments list``."""
