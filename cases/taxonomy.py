"""Meta's Online Operations Kill Chain, read from the CSV shipped in ``cases/data``.

The file is kept as Meta published it (MIT licence beside it), inconsistencies included:
blank separator rows, trailing spaces, and a few codes that do not match their parent
(``9.7.1`` under ``9.8``). Rows are taken as written.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

KILL_CHAIN_CSV = Path(__file__).resolve().parent / "data" / "Online_Operations_Killchain-TTPs.csv"

_CODE = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s+(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class KillChainRow:
    tactic_code: str
    tactic: str
    technique_code: str
    technique: str
    procedure_code: str
    procedure: str


def split_code(cell: str) -> tuple[str, str]:
    """'0.6 Acquiring domains' -> ('0.6', 'Acquiring domains'); line breaks folded to spaces."""
    cell = " ".join(cell.split())
    match = _CODE.match(cell)
    if not match:
        return "", cell
    return match.group(1), match.group(2)


def read_kill_chain(path: Path = KILL_CHAIN_CSV) -> list[KillChainRow]:
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header: Tactic, Technique, Procedure
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            tactic, technique, procedure = (split_code(cell) for cell in cells[:3])
            rows.append(KillChainRow(*tactic, *technique, *procedure))
    return rows
