"""Benchmark harnesses and their fixtures (``wasteroute bench …``): beside the product, not in its wheel."""
