"""Benchmarks. Each module with a ``main()`` is one; ``python -m bench`` runs them all.

Every benchmark prints ratios measured side by side in one run, not bare times.
"""
