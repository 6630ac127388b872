"""Benchmarks: throughput of the book's training loops and metrics, as ratios measured in one run.

Run with ``python -m benchmarks`` (or ``make bench``); not part of ``make test``.
"""
