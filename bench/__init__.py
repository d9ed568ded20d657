"""Benchmarks: `make bench` (all) or `make bench ONLY=<prefix>`. Each figure is printed next to a reference
measured in the same run, as a ratio, because absolute times drift on shared machines."""
