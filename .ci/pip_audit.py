"""`make audit`'s dependency half: pip-audit over the installed .venv (the pinned requirements and
everything they pulled in), asking PyPI's vulnerability feed only (pip-audit's default service).

pip-audit on its own reports "No known vulnerabilities found" even when it could audit nothing
(every package "not found on PyPI": the feed, PyPI's per-version JSON API, was unreachable). That
would be a silent green, so this script reads its JSON and says how many packages were really
audited. Exit status: 1 if a vulnerability is known; 1 if nothing could be audited and
AUDIT_REQUIRE_FEED=1; 0 otherwise, with a loud warning when packages went unaudited.

Usage: .venv/bin/python .ci/pip_audit.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

# Known vulnerabilities that have no fixed release yet, as "ID  # package: why it is accepted".
# Empty: a pin with a fix is upgraded instead of being listed here.
IGNORED: dict[str, str] = {}


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [
        str(pip_audit),
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--vulnerability-service",
        "pypi",
    ]
    for vulnerability_id in IGNORED:
        command += ["--ignore-vuln", vulnerability_id]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(result.stdout + result.stderr, file=sys.stderr)
        print("pip-audit failed before it produced a report", file=sys.stderr)
        return 1
    dependencies = report["dependencies"]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix released"
            print(
                f"VULNERABLE {dependency['name']}=={dependency['version']}: {vuln['id']} (fixed in {fixes})"
            )
    known = sum(len(d["vulns"]) for d in vulnerable)
    print(f"pip-audit: {len(audited)} of {len(dependencies)} installed packages audited against PyPI's feed,")
    print(f"           {known} known vulnerabilities, {len(skipped)} not audited")
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        print(
            f"WARNING: {len(skipped)} packages were not audited ({'; '.join(reasons)}), e.g. "
            + ", ".join(d["name"] for d in skipped[:5])
        )
    if vulnerable:
        return 1
    if not audited and os.environ.get("AUDIT_REQUIRE_FEED") == "1":
        print("AUDIT_REQUIRE_FEED=1 and PyPI's vulnerability feed answered for no package", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
