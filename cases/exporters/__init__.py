"""Exports: a case as JSON or CSV (``case.py``). STIX 2.1 and the printable report come later."""
