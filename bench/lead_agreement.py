"""Agreement numbers of the lead console at scale: ``cases.agreement.measure`` (percent agreement,
Krippendorff's alpha, per-reviewer agreement with the majority, conflicts) on a case of many
accounts, side by side in the same run with the ``krippendorff`` package computing alpha alone on
the same ratings (the baseline), and the two alphas compared.

    python -m bench lead_agreement

Environment: BENCH_ACCOUNTS (20,000), BENCH_REVIEWERS (3), BENCH_ROUNDS (5).
No database: the page reads the labels in one query and hands this function plain tuples.
"""

import os
import random
import statistics
import sys
import time


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def main() -> None:
    import krippendorff
    import numpy as np

    from cases.agreement import krippendorff_alpha_nominal, measure

    accounts = env_int("BENCH_ACCOUNTS", 20_000)
    reviewers = env_int("BENCH_REVIEWERS", 3)
    rounds = env_int("BENCH_ROUNDS", 5)
    rnd = random.Random(6)
    verdicts = ["inauthentic", "authentic", "unsure"]
    ratings = {}
    for unit in range(accounts):
        truth = rnd.choices(verdicts, weights=[6, 3, 1])[0]
        ratings[unit] = {
            r: (truth if rnd.random() < 0.85 else rnd.choice(verdicts))
            for r in range(reviewers)
            if rnd.random() < 0.9
        }
    codes = {v: n for n, v in enumerate(verdicts)}

    def ours() -> float:
        return measure(ratings).alpha

    def theirs() -> float:
        data = np.full((reviewers, accounts), np.nan)
        for unit, by_rater in ratings.items():
            for r, v in by_rater.items():
                data[r, unit] = codes[v]
        return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")

    def timed(fn) -> tuple[float, float]:
        times, value = [], None
        for _ in range(rounds):
            start = time.perf_counter()
            value = fn()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), value

    ours_ms, ours_alpha = timed(ours)
    alpha_only_ms, _ = timed(lambda: krippendorff_alpha_nominal(ratings))
    theirs_ms, theirs_alpha = timed(theirs)
    labels = sum(len(v) for v in ratings.values())
    print(
        f"lead_agreement: {accounts:,} accounts, {reviewers} reviewers, {labels:,} labels, median of {rounds}"
    )
    print(f"  cases.agreement.measure (all numbers)   {ours_ms:8.1f} ms")
    print(f"  cases.agreement alpha only             {alpha_only_ms:8.1f} ms")
    print(
        f"  krippendorff package alpha (baseline)  {theirs_ms:8.1f} ms"
        f"   ratio {alpha_only_ms / theirs_ms:.2f}x"
    )
    print(f"  alpha: ours {ours_alpha:.6f}, package {theirs_alpha:.6f}")
    if abs(ours_alpha - theirs_alpha) > 1e-9:
        print("  MISMATCH")
        sys.exit(1)
