"""Evidence statistics (podium.evidence) checked against scipy and the textbook formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from podium import evidence as ev
from podium.errors import PodiumError

CHAMPION = [0.900, 0.905, 0.893, 0.897, 0.908]
BETTER = [0.948, 0.941, 0.953, 0.944, 0.952]
LUCKY = [0.860, 0.870, 0.930, 0.880, 0.865]
SMALL = [0.902, 0.909, 0.898, 0.906, 0.910]


def welch_by_hand(a, b) -> tuple[float, float, float]:
    """t, Welch-Satterthwaite df and the one-sided p (a greater), from the formulas."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return t, df, float(stats.t.sf(t, df))


@pytest.mark.parametrize("a, b", [
    (BETTER, CHAMPION), (LUCKY, CHAMPION), (SMALL, CHAMPION), (CHAMPION, BETTER),
    ([1.0, 2.0], [0.0, 0.5, 0.7, 0.1]), ([10.0, 12.0, 11.0, 13.0, 9.0, 10.5], [9.0, 9.5]),
])
def test_welch_p_matches_scipy_and_the_formula(a, b):
    p = ev.welch_p(a, b, "max")
    assert p == pytest.approx(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue, rel=1e-12)
    assert p == pytest.approx(welch_by_hand(a, b)[2], rel=1e-9)
    # Lower is better: the same test the other way round.
    assert ev.welch_p(a, b, "min") == pytest.approx(welch_by_hand(b, a)[2], rel=1e-9)


@pytest.mark.parametrize("a, b, mode, expected", [
    ([1.0, 1.0], [0.5, 0.5], "max", 0.0), ([1.0, 1.0], [0.5, 0.5], "min", 1.0), ([1.0, 1.0], [1.0, 1.0], "max", 1.0),
])
def test_welch_without_spread(a, b, mode, expected):
    assert ev.welch_p(a, b, mode) == expected


def test_welch_needs_two_values_a_side():
    with pytest.raises(ValueError):
        ev.welch_p([1.0], [1.0, 2.0])


@pytest.mark.parametrize("values, confidence", [
    (CHAMPION, 0.95), (BETTER, 0.95), (LUCKY, 0.9), ([1.0, 3.0], 0.99), (list(range(30)), 0.95),
])
def test_summary_interval_matches_scipy(values, confidence):
    s = ev.summarize(values, confidence)
    a = np.asarray(values, float)
    low, high = stats.t.interval(confidence, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert (s.n, s.mean, s.std) == (len(a), pytest.approx(a.mean()), pytest.approx(a.std(ddof=1)))
    assert (s.low, s.high) == (pytest.approx(low), pytest.approx(high))
    assert s.has_interval


@pytest.mark.parametrize("values, n, mean", [([], 0, math.nan), ([0.5], 1, 0.5), ([0.5, math.nan, math.inf], 1, 0.5)])
def test_summary_of_few_values(values, n, mean):
    s = ev.summarize(values)
    assert s.n == n and not s.has_interval and math.isnan(s.std)
    assert (math.isnan(s.mean) and math.isnan(mean)) or s.mean == mean


@pytest.mark.parametrize("text, expected", [
    ("0.01", ev.MinGain(0.01)), ("2%", ev.MinGain(2.0, True)), (" 2.5 % ", ev.MinGain(2.5, True)), ("0", ev.MinGain(0.0)),
    ("1e-3", ev.MinGain(0.001)), (0.02, ev.MinGain(0.02)), ("", None), (None, None),
])
def test_parse_min_gain(text, expected):
    assert ev.parse_min_gain(text) == expected


@pytest.mark.parametrize("text", ["-0.01", "abc", "2%%", "%", "nan", "inf"])
def test_parse_min_gain_rejects(text):
    with pytest.raises(PodiumError, match="Minimum gain"):
        ev.parse_min_gain(text)


@pytest.mark.parametrize("gain, champion_mean, required", [
    (ev.MinGain(0.01), 0.9, 0.01), (ev.MinGain(2, True), 0.9, 0.018), (ev.MinGain(10, True), -50.0, 5.0),
])
def test_min_gain_required(gain, champion_mean, required):
    assert gain.required(champion_mean) == pytest.approx(required)


def summ(values):
    return ev.summarize(values), list(values)


@pytest.mark.parametrize("challenger, champion, mode, confidence, min_gain, replace, text", [
    # The example sentence, on five seeds a side.
    (BETTER, CHAMPION, "max", 0.95, ev.MinGain(0.01), True,
     "config max_depth=10 (5 runs) 0.948 ± 0.005 vs champion config (5 runs) 0.901 ± 0.006: better, p = 6.2e-07 < 0.05, gain 0.047 ≥ 0.010"),
    # A lucky seed: the mean is lower.
    (LUCKY, CHAMPION, "max", 0.95, None, False, "worse, p = 0.9 ≥ 0.05, gain -0.020"),
    # Better on the mean, but not with 95 % confidence.
    (SMALL, CHAMPION, "max", 0.95, None, False, "not better with confidence, p = 0.12 ≥ 0.05, gain 0.004"),
    # ...and a gate the small gain does not pass.
    (SMALL, CHAMPION, "max", None, ev.MinGain(0.01), False, "better by less than the minimum gain, gain 0.004 < 0.010"),
    (SMALL, CHAMPION, "max", None, ev.MinGain(0.4, True), True, "better, gain 0.004 ≥ 0.004 (0.4%)"),
    # Lower is better.
    (CHAMPION, BETTER, "min", 0.95, None, True, "better, p = 6.2e-07 < 0.05, gain 0.047"),
    # One run on a side: said plainly, the other rules decide.
    ([0.95], CHAMPION, "max", 0.95, None, True, "better, no confidence can be given with a single run on the challenger's side, gain 0.049"),
    (BETTER, [0.9], "max", 0.95, ev.MinGain(0.1), False, "no confidence can be given with a single run on the champion's side, gain 0.048 < 0.100"),
])
def test_decide(challenger, champion, mode, confidence, min_gain, replace, text):
    (cs, cv), (ks, kv) = summ(challenger), summ(champion)
    verdict = ev.decide(cs, ks, mode, challenger_label="config max_depth=10", champion_label="config", confidence=confidence,
                        min_gain=min_gain, challenger_values=cv, champion_values=kv)
    assert verdict.replace is replace
    assert text in verdict.text
    if confidence and len(challenger) > 1 and len(champion) > 1:
        assert verdict.p_value == pytest.approx(stats.ttest_ind(cv, kv, equal_var=False,
                                                                alternative="greater" if mode == "max" else "less").pvalue)


@pytest.mark.parametrize("tie_break, replace, word", [(True, True, "better"), (False, False, "tie, the champion stays")])
def test_decide_on_a_tie(tie_break, replace, word):
    s = ev.summarize([0.9])
    verdict = ev.decide(s, s, "max", challenger_label="run a", champion_label="run b", tie_break=tie_break, show_n=False)
    assert verdict.replace is replace and verdict.text == f"run a 0.900 vs champion run b 0.900: {word}, gain 0"


RUNS = pd.DataFrame({
    "run_id": list("abcdef"),
    "params.max_depth": ["5", "5", "3", "3", "5", None],
    "params.seed": ["0", "1", "0", "1", "0", "0"],
    "params.lr": ["0.1", "0.1", "0.1", "0.1", "0.2", "0.1"],
})


@pytest.mark.parametrize("repeats_by, groups", [
    ("seed", [["a", "b"], ["c", "d"], ["e"], ["f"]]),
    (None, [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("max_depth", [["a", "c", "f"], ["b", "d"], ["e"]]),
    ("lr", [["a", "e"], ["b"], ["c"], ["d"], ["f"]]),  # f: a missing max_depth is a value of its own
])
def test_config_keys(repeats_by, groups):
    keys = ev.config_keys(RUNS, repeats_by)
    found = sorted(sorted(RUNS["run_id"][keys == k]) for k in keys.unique())
    assert found == sorted(groups)


@pytest.mark.parametrize("columns, expected", [
    ({"params.seed": ["1", "2"]}, "seed"), ({"params.random_state": ["1", "2"], "params.seed": ["1", "1"]}, "random_state"),
    ({"params.random_seed": ["1", None]}, None), ({"params.x": ["1", "2"]}, None),
])
def test_default_repeats_param(columns, expected):
    assert ev.default_repeats_param(pd.DataFrame({"run_id": ["a", "b"], **columns})) == expected


@pytest.mark.parametrize("params, reference, label", [
    ({"max_depth": "10", "lr": "0.1"}, {"max_depth": "5", "lr": "0.1"}, "config max_depth=10"),
    ({"max_depth": "10", "lr": "0.1"}, None, "config lr=0.1, max_depth=10"),
    ({"a": "1", "b": "2", "c": "3", "d": "4"}, {}, "config a=1, b=2, c=3, …"),
    ({"a": "1"}, {"a": "1"}, "config (same params)"),
    ({"a": None}, {"a": "1"}, "config a=(none)"),
])
def test_config_label(params, reference, label):
    assert ev.config_label(params, reference) == label


@pytest.mark.parametrize("value, text", [(0.948, "0.948"), (0.9, "0.900"), (0.0052, "0.005"), (0.00052, "0.00052"), (25.349, "25.35"),
                                         (1234.5, "1.23e+03"), (0.0, "0"), (math.nan, "n/a"), (-math.inf, "-inf")])
def test_fmt(value, text):
    assert ev.fmt(value) == text
