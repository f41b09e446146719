"""Exports: a case as JSON or CSV (``case.py``) and as a STIX 2.1 bundle (``stix.py``). The printable
report is a page (``frontend/lead_report.py``), printed to PDF by the browser."""
