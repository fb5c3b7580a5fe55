"""Routing benchmarks: instance readers, the independent checker, seeded instances, plain PyVRP, city days."""
