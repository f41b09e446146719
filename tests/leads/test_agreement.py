"""The agreement numbers (cases/agreement.py) against hand-computed cases, the degenerate ones
included, and against the ``krippendorff`` package on random data."""

import math
import random

import krippendorff
import numpy as np
import pytest

from cases.agreement import (
    agreement_with_majority,
    conflicts,
    krippendorff_alpha_nominal,
    majority,
    measure,
    percent_agreement,
)

CODES = {"inauthentic": 0, "authentic": 1, "unsure": 2, "a": 0, "b": 1, "c": 2}


def package_alpha(ratings: dict) -> float:
    """The same ratings as the package wants them: raters by units, NaN where a rater is missing."""
    raters = sorted({r for by_rater in ratings.values() for r in by_rater}, key=str)
    units = list(ratings)
    data = np.full((len(raters), len(units)), np.nan)
    for j, unit in enumerate(units):
        for rater, value in ratings[unit].items():
            data[raters.index(rater), j] = CODES[value]
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


# --- hand-computed ---------------------------------------------------------------------------------


def test_two_raters_two_values_by_hand():
    # Units: a a | a a | a b | b b.  Pairable values n = 8: a = 5, b = 3.
    # D_o = (1/8) * (2 / 1) = 0.25 (the one disagreeing unit gives 2 ordered pairs).
    # D_e = (2 * 5 * 3) / (8 * 7) = 30 / 56.  alpha = 1 - 0.25 * 56 / 30 = 1 - 14 / 30 = 0.5333…
    ratings = {
        1: {"x": "a", "y": "a"},
        2: {"x": "a", "y": "a"},
        3: {"x": "a", "y": "b"},
        4: {"x": "b", "y": "b"},
    }
    assert percent_agreement(ratings) == 0.75
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(1 - 14 / 30)
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(package_alpha(ratings))
    assert conflicts(ratings) == [3]


def test_three_raters_with_a_missing_rating_by_hand():
    # Unit 1: a a b (m=3), unit 2: b b (m=2), unit 3: a (m=1, not pairable).
    # n = 5 (a = 2, b = 3).  Observed: unit 1 has 3² - (2² + 1²) = 4 ordered disagreeing pairs,
    # weighted 1 / (3 - 1): 2.  D_o = 2 / 5.  D_e = (25 - 4 - 9) / (5 * 4) = 12 / 20.
    # alpha = 1 - (2 / 5) / (12 / 20) = 1 - 2 / 3 = 1 / 3.
    ratings = {1: {"x": "a", "y": "a", "z": "b"}, 2: {"x": "b", "y": "b"}, 3: {"z": "a"}}
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(1 / 3)
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(package_alpha(ratings))
    # Percent: unit 1 has 1 agreeing pair of 3, unit 2 has 1 of 1; unit 3 is left out.
    assert percent_agreement(ratings) == pytest.approx((1 / 3 + 1) / 2)


def test_agreement_with_the_majority_by_hand():
    ratings = {
        1: {"x": "a", "y": "a", "z": "b"},  # majority a: x, y agree; z does not
        2: {"x": "b", "y": "b", "z": "b"},  # majority b: all agree
        3: {"x": "a", "y": "b"},  # tie: nobody compared
        4: {"z": "a"},  # one label: nobody compared
    }
    by_rater = agreement_with_majority(ratings)
    assert {r: (a.labels, a.compared, a.agreed) for r, a in by_rater.items()} == {
        "x": (3, 2, 2),
        "y": (3, 2, 2),
        "z": (3, 2, 1),
    }
    assert by_rater["z"].rate == 0.5 and by_rater["x"].rate == 1.0


def test_majority_needs_a_strict_plurality():
    assert majority(["a", "a", "b"]) == "a"
    assert majority(["a", "b"]) is None
    assert majority(["a", "a", "b", "b", "c"]) is None
    assert majority([]) is None
    assert majority(["c"]) == "c"


# --- degenerate --------------------------------------------------------------------------------------


def test_no_labels_at_all():
    report = measure({})
    assert (report.units, report.labels, report.percent, report.alpha, report.conflicts) == (
        0,
        0,
        None,
        None,
        [],
    )


def test_one_label_is_not_agreement():
    ratings = {1: {"x": "inauthentic"}, 2: {}}
    report = measure(ratings)
    assert (report.labels, report.pairable_units, report.percent, report.alpha) == (1, 0, None, None)
    assert report.conflicts == []
    assert report.by_rater["x"].compared == 0 and report.by_rater["x"].rate is None


def test_all_agree_gives_full_percent_and_an_undefined_alpha():
    ratings = {u: {"x": "inauthentic", "y": "inauthentic", "z": "inauthentic"} for u in range(4)}
    assert percent_agreement(ratings) == 1.0
    # No variation at all: expected disagreement is 0, so alpha is 0/0. The package refuses too.
    assert krippendorff_alpha_nominal(ratings) is None
    with pytest.raises(ValueError):
        package_alpha(ratings)
    assert conflicts(ratings) == []
    assert all(a.rate == 1.0 for a in agreement_with_majority(ratings).values())


def test_all_agree_within_units_but_units_differ_is_alpha_one():
    ratings = {1: {"x": "a", "y": "a"}, 2: {"x": "b", "y": "b"}, 3: {"x": "c", "y": "c"}}
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(1.0)
    assert package_alpha(ratings) == pytest.approx(1.0)
    assert percent_agreement(ratings) == 1.0


def test_all_differ():
    # Two raters always disagree, on two values used equally: n = 4, D_o = 1, D_e = 8 / 12.
    # alpha = 1 - 12 / 8 = -0.5.
    ratings = {1: {"x": "a", "y": "b"}, 2: {"x": "b", "y": "a"}}
    assert percent_agreement(ratings) == 0.0
    assert krippendorff_alpha_nominal(ratings) == pytest.approx(-0.5)
    assert package_alpha(ratings) == pytest.approx(-0.5)
    assert conflicts(ratings) == [1, 2]
    assert all(a.compared == 0 for a in agreement_with_majority(ratings).values())  # every unit a tie


def test_three_raters_three_verdicts_each_unit_all_different():
    ratings = {u: {"x": "inauthentic", "y": "authentic", "z": "unsure"} for u in range(3)}
    assert percent_agreement(ratings) == 0.0
    alpha = krippendorff_alpha_nominal(ratings)
    assert alpha == pytest.approx(package_alpha(ratings))
    assert alpha < 0


# --- against the package on random data --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_alpha_matches_the_krippendorff_package_on_random_ratings(seed):
    rnd = random.Random(seed)
    raters = [f"r{n}" for n in range(rnd.randint(2, 6))]
    ratings = {}
    for unit in range(rnd.randint(2, 40)):
        # Skewed verdicts (like real reviews) and missing ratings.
        ratings[unit] = {
            rater: rnd.choices(["inauthentic", "authentic", "unsure"], weights=[6, 3, 1])[0]
            for rater in raters
            if rnd.random() < 0.7
        }
    ours = krippendorff_alpha_nominal(ratings)
    try:
        theirs = package_alpha(ratings)
    except ValueError:  # one value in the whole domain
        assert ours is None
        return
    if ours is None:
        assert math.isnan(theirs) or theirs is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
