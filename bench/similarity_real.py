"""The similarity engine on real data: the accounts Meta named in its published threat-indicator
files (issue 4: "same-network accounts rank above other networks' accounts more often than
chance; report it").

    python -m bench similarity_real
    SIM_REAL_K=50 SIM_REAL_PERMUTATIONS=2000 python -m bench similarity_real

Data: the indicator files already copied into the project for the importer tests
(``tests/fixtures/meta-threat-indicators/indicators``, MIT, Meta Platforms — the licence is next to
them), parsed by the importer's own parser. Accounts only, as the app stores them: platform and
handle (the files give no display names, bios or posts; an account on a site the app files under
``other`` has the handle ``name@site``). A network is one of Meta's named networks; the two files
of the 2022-09 China/Russia report (CSV and JSON) are one network, and an account is counted once.

For each account of a network with at least two accounts, the engine's top-k
(``Index.top_k``) ranks the other accounts. Reported per network:

- **AUC**: the probability that a same-network account ranks above an other-network account in
  that list (accounts the list leaves out tie at its bottom; a tie counts a half), averaged over
  the network's accounts. Chance is 0.5, whatever the network sizes.
- **P@k**: the share of the k slots filled by same-network accounts, next to what a random list
  gets (the share of same-network accounts among the others) and the best possible (the network
  may have fewer than k other accounts).
- a **permutation test**: network labels shuffled among all accounts (sizes kept), the same
  rankings scored again; ``p`` is the share of shuffles whose mean AUC is at least the real one.

Exits non-zero only when something fails, never on the numbers.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cases.importers.indicators import ACCOUNT, parse_indicator_file
from cases.similarity.engine import AccountRecord, Index

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "fixtures" / "meta-threat-indicators" / "indicators"
LICENCE = DATA.parent / "LICENSE"


@dataclass
class Network:
    name: str
    accounts: list[tuple[str, str]]  # (platform, handle as published)


def read_networks(root: Path = DATA) -> list[Network]:
    """Every network's accounts, each (platform, normalized handle) once; an account named by two
    networks is left out (it would count for both)."""
    found: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parsed = parse_indicator_file(path.name, path.read_bytes())
        for indicator in parsed.indicators:
            if indicator.kind == ACCOUNT:
                key = (indicator.platform, indicator.handle_normalized)
                found[parsed.network].setdefault(key, indicator.handle)
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, accounts in found.items():
        for key in accounts:
            owners[key].add(name)
    networks = []
    for name, accounts in sorted(found.items(), key=lambda item: (-len(item[1]), item[0])):
        kept = [(key[0], handle) for key, handle in accounts.items() if len(owners[key]) == 1]
        if kept:
            networks.append(Network(name, kept))
    return networks


def auc_of_list(ranked: list[int], positives: set[int], negatives: int, n_pos: int) -> float:
    """P(a positive ranks above a negative) for a best-first list; the unlisted tie at the bottom.
    ``negatives``/``n_pos``: how many negatives and positives exist in all."""
    above = 0.0  # positive-negative pairs where the positive is higher
    negatives_seen = 0
    listed_pos = 0
    for account_id in ranked:
        if account_id in positives:
            listed_pos += 1
            above += negatives - negatives_seen
        else:
            negatives_seen += 1
    unlisted_pos = n_pos - listed_pos
    unlisted_neg = negatives - negatives_seen
    above += 0.5 * unlisted_pos * unlisted_neg
    return above / (n_pos * negatives)


def evaluate(
    lists: dict[int, list[int]], label: dict[int, int], k: int
) -> dict[int, tuple[list[float], list[float]]]:
    """Per network label: (AUCs, P@k) over its accounts' lists. The third list of each entry is
    the precision of what was listed (accounts with an empty list left out)."""
    members: dict[int, set[int]] = defaultdict(set)
    for account_id, net in label.items():
        members[net].add(account_id)
    n = len(label)
    out: dict[int, tuple[list[float], list[float], list[float]]] = defaultdict(lambda: ([], [], []))
    for query, ranked in lists.items():
        net = label[query]
        positives = members[net] - {query}
        if not positives:
            continue
        negatives = n - 1 - len(positives)
        if negatives <= 0:
            continue
        aucs, precisions, listed = out[net]
        aucs.append(auc_of_list(ranked, positives, negatives, len(positives)))
        hits = sum(1 for a in ranked[:k] if a in positives)
        precisions.append(hits / k)
        if ranked:
            listed.append(hits / len(ranked[:k]))
    return out


def main() -> None:
    k = int(os.environ.get("SIM_REAL_K", "20"))
    permutations = int(os.environ.get("SIM_REAL_PERMUTATIONS", "1000"))
    seed = int(os.environ.get("SIM_REAL_SEED", "1"))
    if not DATA.is_dir() or not LICENCE.is_file():
        print(f"error: the indicator files are not at {DATA} (with the licence at {LICENCE})")
        sys.exit(1)
    networks = read_networks()
    records: list[AccountRecord] = []
    label: dict[int, int] = {}
    for net, network in enumerate(networks):
        for platform, handle in network.accounts:
            account_id = len(records) + 1
            records.append(AccountRecord(id=account_id, platform=platform, handle=handle))
            label[account_id] = net
    n = len(records)
    started = time.perf_counter()
    index = Index.build(records)
    built = time.perf_counter() - started
    started = time.perf_counter()
    top = {r.id: [m.other(r.id) for m in index.top_k(r.id, k)] for r in records}
    deep = {r.id: [m.other(r.id) for m in index.top_k(r.id, n)] for r in records}
    queried = time.perf_counter() - started

    print(
        f"{n} accounts in {len(networks)} networks, from Meta's indicator files "
        f"({DATA.relative_to(HERE.parent)}); index built in {built * 1000:.0f} ms, "
        f"{2 * n} top-k queries in {queried * 1000:.0f} ms"
    )
    print("signals available: handle (string and shape) and platform: the files name accounts, no more")
    print()
    rng = np.random.default_rng(seed)
    ids = np.array(sorted(label))
    labels = np.array([label[i] for i in ids])
    real_top = evaluate(top, label, k)
    real_deep = evaluate(deep, label, k)
    null_top: dict[int, list[float]] = defaultdict(list)
    null_deep: dict[int, list[float]] = defaultdict(list)
    null_all: list[tuple[float, float]] = []
    for _ in range(permutations):
        shuffled = dict(zip(ids.tolist(), rng.permutation(labels).tolist(), strict=True))
        top_scores = evaluate(top, shuffled, k)
        deep_scores = evaluate(deep, shuffled, k)
        for net, (aucs, _, _) in top_scores.items():
            null_top[net].append(float(np.mean(aucs)))
        for net, (aucs, _, _) in deep_scores.items():
            null_deep[net].append(float(np.mean(aucs)))
        null_all.append(
            (
                float(np.mean([a for aucs, _, _ in top_scores.values() for a in aucs])),
                float(np.mean([a for aucs, _, _ in deep_scores.values() for a in aucs])),
            )
        )

    def p_value(null: list[float], real: float) -> str:
        if not null:
            return "n/a"
        return f"{(1 + sum(v >= real - 1e-12 for v in null)) / (1 + len(null)):.3f}"

    header = (
        f"{'network':<44} {'acc':>4} {'AUC@' + str(k):>7} {'p':>6} {'AUC all':>7} {'p':>6} "
        f"{'P@' + str(k):>6} {'best':>5} {'listed':>6} {'P(list)':>7} {'chance':>6} {'AUC>.5':>7}"
    )
    print(header)
    print("-" * len(header))
    for net, network in enumerate(networks):
        size = len(network.accounts)
        if net not in real_top:
            print(f"{network.name[:44]:<44} {size:>4}   (one account: only ever a negative)")
            continue
        aucs, precisions, listed = real_top[net]
        deep_aucs, _, _ = real_deep[net]
        lengths = [len(top[a]) for a in label if label[a] == net]
        list_precision = f"{np.mean(listed):.3f}" if listed else "—"
        chance = (size - 1) / (n - 1)
        best = min(size - 1, k) / k
        auc, deep_auc = float(np.mean(aucs)), float(np.mean(deep_aucs))
        print(
            f"{network.name[:44]:<44} {size:>4} {auc:>7.3f} {p_value(null_top[net], auc):>6} "
            f"{deep_auc:>7.3f} {p_value(null_deep[net], deep_auc):>6} "
            f"{np.mean(precisions):>6.3f} {best:>5.2f} {np.mean(lengths):>6.1f} {list_precision:>7} "
            f"{chance:>6.3f} {sum(a > 0.5 for a in deep_aucs):>3}/{len(deep_aucs):<3}"
        )
    every_top = [a for aucs, _, _ in real_top.values() for a in aucs]
    every_deep = [a for aucs, _, _ in real_deep.values() for a in aucs]
    macro_top = np.mean([np.mean(aucs) for aucs, _, _ in real_top.values()])
    macro_deep = np.mean([np.mean(aucs) for aucs, _, _ in real_deep.values()])
    print()
    all_top, all_deep = float(np.mean(every_top)), float(np.mean(every_deep))
    print(
        f"all accounts: AUC@{k} {all_top:.3f} (p {p_value([a for a, _ in null_all], all_top)}), "
        f"AUC over the whole ranking {all_deep:.3f} "
        f"(p {p_value([b for _, b in null_all], all_deep)}); "
        f"mean over networks {macro_top:.3f} / {macro_deep:.3f}; chance 0.500"
    )
    print(
        f"'AUC@{k}': the top-{k} list, the rest tied below it; 'AUC all': the whole candidate list "
        f"the engine returns; p: one-sided permutation test, {permutations} shuffles of the network labels "
        f"(seed {seed}); 'AUC>.5': accounts whose own ranking beats chance"
    )
    print(
        f"'P@{k}': same-network share of the {k} slots (empty slots count as misses; 'best' is the most "
        f"the network's size allows); 'listed': mean length of the top-{k} list (the engine lists only "
        f"accounts some signal links); 'P(list)': same-network share of what was listed, over accounts "
        f"with a non-empty list; 'chance': the same-network share among all other accounts"
    )


if __name__ == "__main__":
    main()
