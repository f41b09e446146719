"""Run every benchmark: ``python -m bench`` (all) or ``python -m bench import_bundle …`` (some).

A benchmark is a module ``bench/<name>.py`` with a top-level ``main()``. Each runs in a process
of its own, so one benchmark's Django settings, database or memory high-water mark cannot leak
into the next; the exit status is non-zero if any of them failed.
"""

import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Modules that define main(), found by reading them (importing could have side effects)."""
    names = []
    for path in sorted(HERE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            names.append(path.stem)
    return names


def run() -> int:
    available = discover()
    wanted = sys.argv[1:] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed = []
    for name in wanted:
        print(f"\n=== bench.{name}", flush=True)
        code = subprocess.call([sys.executable, "-c", f"import bench.{name} as b; b.main()"], cwd=HERE.parent)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run())
