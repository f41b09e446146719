"""Agreement between reviewers on categorical verdicts. Pure functions: no Django, no database.

The input is a mapping *unit → {rater: value}*: a unit is what was labelled (an account of a
case), a rater who labelled it, and the value their verdict. Units with fewer than two ratings are
not *pairable*: they say nothing about agreement and are left out of both coefficients.

* **Percent agreement** is the mean, over pairable units, of the share of pairs of ratings on the
  unit that agree. Each account weighs the same, whatever the number of reviewers on it; with two
  reviewers per account it is simply the share of accounts on which they agree.
* **Krippendorff's alpha (nominal)** is ``1 - D_o / D_e`` from the coincidence matrix
  (Krippendorff, *Computing Krippendorff's Alpha-Reliability*, 2011): observed disagreement
  within units against the disagreement expected from how often each value is used overall. 1 is
  perfect agreement, 0 is chance, below 0 is systematic disagreement. It is undefined (None) with
  no pairable unit, or when every rating has the same value (``D_e = 0``, no variation to measure).
  Tests cross-check it against the ``krippendorff`` package.
* **Agreement with the majority**: for every unit with at least two ratings and a strict plurality
  (no tie at the top), whether each rater's value is that plurality's.
* **Conflicts**: units whose ratings do not all agree.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

Unit = TypeVar("Unit", bound=Hashable)
Rater = TypeVar("Rater", bound=Hashable)
Ratings = Mapping[Hashable, Mapping[Hashable, Hashable]]


def majority(values: Iterable[Hashable]) -> Hashable | None:
    """The value most ratings give, or None when there is none or the top is a tie."""
    return _top(Counter(values))


def _pairable(ratings: Ratings) -> list[Counter]:
    return [Counter(by_rater.values()) for by_rater in ratings.values() if len(by_rater) >= 2]


def _percent(units: list[Counter]) -> float | None:
    shares = []
    for counts in units:
        m = sum(counts.values())
        shares.append(sum(c * (c - 1) for c in counts.values()) / (m * (m - 1)))
    return sum(shares) / len(shares) if shares else None


def _alpha(units: list[Counter]) -> float | None:
    totals: Counter = Counter()
    observed = 0.0
    for counts in units:
        m = sum(counts.values())
        totals.update(counts)
        # Pairs of different values within the unit, each unit weighted by 1 / (m - 1).
        observed += (m * m - sum(c * c for c in counts.values())) / (m - 1)
    n = sum(totals.values())
    if n < 2:
        return None
    expected = n * n - sum(c * c for c in totals.values())
    if expected == 0:
        return None
    # alpha = 1 - D_o / D_e with D_o = observed / n and D_e = expected / (n (n - 1)).
    return 1.0 - (n - 1) * observed / expected


def percent_agreement(ratings: Ratings) -> float | None:
    """Mean share of agreeing pairs per pairable unit, 0..1; None without a pairable unit."""
    return _percent(_pairable(ratings))


def krippendorff_alpha_nominal(ratings: Ratings) -> float | None:
    """Krippendorff's alpha for nominal values; None when undefined (see the module docstring)."""
    return _alpha(_pairable(ratings))


@dataclass(frozen=True)
class RaterAgreement:
    """How often one rater gave the majority's value, over the units where there was a majority."""

    rater: Hashable
    labels: int
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def _top(counts: Counter) -> Hashable | None:
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def agreement_with_majority(ratings: Ratings) -> dict[Hashable, RaterAgreement]:
    """Per rater: labels given, units compared (two or more ratings and a strict majority) and how
    many of those the rater's value matched. The rater's own rating counts towards the majority."""
    return _with_majority(ratings, {})


def _with_majority(ratings: Ratings, counted: dict[Hashable, Counter]) -> dict[Hashable, RaterAgreement]:
    labels: Counter = Counter()
    compared: Counter = Counter()
    agreed: Counter = Counter()
    for unit, by_rater in ratings.items():
        labels.update(by_rater.keys())
        if len(by_rater) < 2:
            continue
        top = _top(counted[unit] if unit in counted else Counter(by_rater.values()))
        if top is None:
            continue
        for rater, value in by_rater.items():
            compared[rater] += 1
            agreed[rater] += value == top
    return {
        rater: RaterAgreement(
            rater=rater, labels=labels[rater], compared=compared[rater], agreed=agreed[rater]
        )
        for rater in labels
    }


def conflicts(ratings: Ratings) -> list[Hashable]:
    """Units whose ratings give more than one value, in the input's order."""
    return [unit for unit, by_rater in ratings.items() if len(set(by_rater.values())) > 1]


@dataclass(frozen=True)
class AgreementReport:
    units: int
    labels: int
    pairable_units: int
    percent: float | None
    alpha: float | None
    by_rater: dict[Hashable, RaterAgreement] = field(default_factory=dict)
    conflicts: list[Hashable] = field(default_factory=list)


def measure(ratings: Ratings) -> AgreementReport:
    """Every number above for one set of ratings, counting each unit's values once."""
    counted = {unit: Counter(by_rater.values()) for unit, by_rater in ratings.items() if len(by_rater) >= 2}
    units = list(counted.values())
    return AgreementReport(
        units=len(ratings),
        labels=sum(len(by_rater) for by_rater in ratings.values()),
        pairable_units=len(units),
        percent=_percent(units),
        alpha=_alpha(units),
        by_rater=_with_majority(ratings, counted),
        conflicts=[unit for unit, counts in counted.items() if len(counts) > 1],
    )
