"""podium.ranking: the one ±inf rule the Report and the Champion share (MLflow's order_by order)."""

from __future__ import annotations

import math
import sys

import pandas as pd
import pytest

from podium import ranking

FMAX = sys.float_info.max
T = pd.Timestamp("2024-01-01", tz="UTC")


def frame(rows):
    return pd.DataFrame([{"run_id": r, "metrics.m": v, "start_time": T + pd.Timedelta(seconds=s)} for r, v, s in rows])


@pytest.mark.parametrize("rows, mode, order", [
    ([("a", 1.0, 0), ("b", math.inf, 0), ("c", -math.inf, 0)], "max", ["b", "a", "c"]),
    ([("a", 1.0, 0), ("b", math.inf, 0), ("c", -math.inf, 0)], "min", ["c", "a", "b"]),
    ([("a", 1.0, 0), ("b", FMAX, 0), ("c", -FMAX, 0)], "max", ["b", "a", "c"]),  # SQL stores' ±inf
    ([("a", FMAX, 0), ("b", math.inf, 5)], "max", ["b", "a"]),  # float max *is* inf: a tie, newer first
    ([("a", math.nan, 0), ("b", 0.1, 0), ("c", None, 0), ("d", "x", 0)], "max", ["b"]),  # no value: unranked
    ([("b", 0.5, 0), ("a", 0.5, 0), ("c", 0.5, 9)], "max", ["c", "a", "b"]),  # ties: newer, then run id
    ([("b", 0.5, 0), ("a", 0.5, 0), ("c", 0.5, 9)], "min", ["c", "a", "b"]),
])
def test_rank_runs(rows, mode, order):
    df = frame(rows)
    assert list(ranking.rank_runs(df, "metrics.m", mode)["run_id"]) == order
    # order_key sorts single runs the same way (NaN last instead of left out)
    keyed = sorted(df.itertuples(), key=lambda r: ranking.order_key(getattr(r, "_2"), mode, r.start_time, r.run_id))
    assert [r.run_id for r in keyed][: len(order)] == order


@pytest.mark.parametrize("value, number", [(FMAX, math.inf), (-FMAX, -math.inf), ("1e309", math.inf), ("0.5", 0.5),
                                           (None, math.nan), ("abc", math.nan), (1.7e308, 1.7e308)])
def test_as_number(value, number):
    got = ranking.as_number(value)
    assert (math.isnan(got) and math.isnan(number)) or got == number


def test_bad_mode_and_missing_column():
    with pytest.raises(ValueError):
        ranking.rank_runs(frame([("a", 1.0, 0)]), "metrics.m", "best")
    assert ranking.rank_runs(frame([("a", 1.0, 0)]), "metrics.other", "max").empty
