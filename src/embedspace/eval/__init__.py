"""Benchmark and quality harness used by `make bench` and `embedspace eval`."""
