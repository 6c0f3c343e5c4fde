"""Benchmarks: run with ``pytest bench`` (never part of the test suite)."""
