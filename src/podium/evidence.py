"""Evidence for a champion decision: repeats of one configuration, intervals, Welch's test, gates.

Pure functions on plain numbers and frames (no I/O). A *configuration* is a set of runs whose
params are equal except the one that marks repeats (a seed): its value is the mean over those
runs, shown with n, the standard deviation and a Student-t confidence interval. A challenger
configuration replaces the champion's only when it is better on the mean, and, when the policy
asks for it, better under a one-sided Welch t-test at the policy's confidence and by at least a
minimum gain. :func:`decide` returns the verdict and one sentence that states the evidence::

    config max_depth=10 (5 runs) 0.948 ± 0.005 vs champion config (5 runs) 0.900 ± 0.007:
    better, p = 0.0001 < 0.05, gain 0.048 ≥ 0.01
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from podium.errors import PodiumError

# Param names that usually mark repeats of one configuration (the page's default picker value).
SEED_PARAMS = ("seed", "random_state", "random_seed")
MISSING = "\x00missing"  # a param a run did not log, in configuration keys


def default_repeats_param(runs: pd.DataFrame) -> str | None:
    """``seed``, ``random_state`` or ``random_seed`` when the runs log it with two or more values."""
    for name in SEED_PARAMS:
        col = f"params.{name}"
        if col in runs.columns and runs[col].dropna().astype(str).nunique() > 1:
            return name
    return None


def repeat_candidates(runs: pd.DataFrame) -> list[str]:
    """Params that take two or more values: what a repeats picker can offer (seed-like first)."""
    names = [c[len("params."):] for c in runs.columns
             if c.startswith("params.") and runs[c].dropna().astype(str).nunique() > 1]
    return sorted(names, key=lambda n: (n not in SEED_PARAMS, n))


def config_keys(runs: pd.DataFrame, repeats_by: str | None) -> pd.Series:
    """One key per run (indexed like ``runs``): runs with equal keys repeat one configuration.

    Without ``repeats_by`` every run is its own configuration (the key is the run id)."""
    if not repeats_by:
        return runs["run_id"].astype(str)
    cols = sorted(c for c in runs.columns if c.startswith("params.") and c != f"params.{repeats_by}")
    if not cols:
        return pd.Series(["()"] * len(runs), index=runs.index, dtype=object)
    values = runs[cols].astype(object).where(runs[cols].notna(), MISSING).astype(str)
    groups = values.groupby(cols, sort=False).ngroup()
    return ("config-" + groups.astype(str)).astype(object)


def config_params(runs: pd.DataFrame, repeats_by: str | None) -> dict[str, str | None]:
    """The params shared by the runs of one configuration (all but ``repeats_by``)."""
    out = {}
    for c in sorted(runs.columns):
        if c.startswith("params.") and c != f"params.{repeats_by}":
            v = runs[c].iloc[0] if len(runs) else None
            out[c[len("params."):]] = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return out


def config_label(params: dict[str, str | None], reference: dict[str, str | None] | None = None, max_params: int = 3) -> str:
    """``config max_depth=10, lr=0.1``: the params where ``params`` differs from ``reference``
    (or all of them), at most ``max_params`` then an ellipsis; ``config (same params)`` when none."""
    ref = reference or {}
    keys = sorted(set(params) | set(ref))
    differ = [k for k in keys if params.get(k) != ref.get(k)] if reference is not None else [k for k in keys if params.get(k) is not None]
    if not differ:
        return "config (same params)"
    shown = [f"{k}={params.get(k) if params.get(k) is not None else '(none)'}" for k in differ[:max_params]]
    more = ", …" if len(differ) > max_params else ""
    return "config " + ", ".join(shown) + more


@dataclass(frozen=True)
class Summary:
    """The values of one configuration: n, mean, standard deviation, confidence interval."""

    n: int
    mean: float
    std: float  # sample standard deviation (ddof=1); NaN for a single run
    low: float  # Student-t interval at ``confidence``; NaN for a single run
    high: float
    confidence: float

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.low)


def summarize(values, confidence: float = 0.95) -> Summary:
    """n, mean, sample standard deviation and the two-sided Student-t interval of the mean."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, confidence)
    if n == 1:  # the common case without repeats: no spread, no interval
        return Summary(1, finite[0], math.nan, math.nan, math.nan, confidence)
    from scipy import stats

    a = np.asarray(finite, dtype=float)
    mean = float(a.mean())
    std = float(a.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half, confidence)


def welch_p(challenger, champion, mode: str = "max") -> float:
    """One-sided p-value of Welch's t-test that ``challenger``'s mean is better than ``champion``'s
    (greater under ``max``, smaller under ``min``). Needs two values on each side.

    Both sides without spread (every value equal): 0 when the challenger is better, else 1.
    """
    from scipy import stats

    a, b = np.asarray(challenger, dtype=float), np.asarray(champion, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's test needs two values on each side.")
    if a.std() == 0 and b.std() == 0:
        better = a.mean() > b.mean() if mode == "max" else a.mean() < b.mean()
        return 0.0 if better else 1.0
    alternative = "greater" if mode == "max" else "less"
    return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


@dataclass(frozen=True)
class MinGain:
    """A gate: the challenger must beat the champion's mean by ``amount`` metric units, or by
    ``amount`` percent of the champion's value when ``relative``."""

    amount: float
    relative: bool = False

    def required(self, champion_mean: float) -> float:
        return abs(champion_mean) * self.amount / 100 if self.relative else self.amount

    def describe(self) -> str:
        return f"{self.amount:g}%" if self.relative else f"{self.amount:g}"


_GAIN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*(%)?\s*$")


def parse_min_gain(text: str | float | None) -> MinGain | None:
    """``"0.01"`` (metric units) or ``"2%"`` (relative to the champion); None for empty.

    Raises:
        PodiumError: not a non-negative number or percentage.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    raw = str(text).strip()
    relative = raw.endswith("%")
    number = raw[:-1].strip() if relative else raw
    try:
        amount = float(number)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise PodiumError(f"Minimum gain must be a number (0.01) or a percentage (2%), got {raw!r}.")
    return MinGain(amount, relative)


def fmt(value: float | None) -> str:
    """A value as the decision text shows it: ``0.948``, ``0.005``, ``12.50``, ``1.23e+04``, ``0.00052``, ``n/a``."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    size = abs(value)
    if size == 0:
        return "0"
    if 0.001 <= size < 1000:  # three decimals, as in "0.948 ± 0.005"
        return f"{value:.{3 if size < 10 else (2 if size < 100 else 1)}f}"
    return f"{value:.3g}"


def fmt_p(p: float) -> str:
    if p < 0.0001:
        return f"{p:.1e}"
    return f"{p:.2g}"


def describe_side(label: str, summary: Summary, show_n: bool = True) -> str:
    """``config max_depth=10 (5 runs) 0.948 ± 0.005`` (mean ± standard deviation)."""
    runs = f" ({summary.n} run" + ("s" if summary.n != 1 else "") + ")" if show_n else ""
    spread = f" ± {fmt(summary.std)}" if summary.n >= 2 else ""
    return f"{label}{runs} {fmt(summary.mean)}{spread}"


@dataclass(frozen=True)
class Verdict:
    """The challenger against the champion: replace or not, why, the numbers behind it."""

    replace: bool
    text: str
    gain: float
    p_value: float | None
    better_on_mean: bool
    confident: bool | None  # None: no test was asked for or possible
    gain_ok: bool | None  # None: no minimum gain in the policy


def decide(challenger: Summary, champion: Summary, mode: str, *, challenger_label: str, champion_label: str,
           confidence: float | None = None, min_gain: MinGain | None = None, tie_break: bool | None = None,
           challenger_values=None, champion_values=None, show_n: bool = True) -> Verdict:
    """Whether the challenger configuration replaces the champion's, with the sentence that says why.

    Args:
        challenger, champion: Each side's :class:`Summary`.
        mode: ``max`` or ``min``.
        challenger_label, champion_label: How each side is named in the text.
        confidence: Ask for a one-sided Welch t-test at this level (e.g. 0.95); with fewer than
            two runs on either side the text says no confidence can be given and the other rules decide.
        min_gain: The smallest improvement that replaces the champion.
        tie_break: Who wins an exact tie of the means (the policy's tie-breakers); True: the challenger.
        challenger_values, champion_values: The values behind each summary (for the test).
        show_n: Say how many runs each side has (configurations of repeats).
    """
    gain = challenger.mean - champion.mean if mode == "max" else champion.mean - challenger.mean
    better = gain > 0 or (gain == 0 and bool(tie_break))
    notes: list[str] = []
    p = None
    confident = None
    if confidence is not None:
        alpha = 1 - confidence
        if challenger.n >= 2 and champion.n >= 2:
            p = welch_p(challenger_values, champion_values, mode)
            confident = p < alpha
            notes.append(f"p = {fmt_p(p)} {'<' if confident else '≥'} {alpha:.2g}")
        else:
            side = "either side" if challenger.n < 2 and champion.n < 2 else ("the challenger's side" if challenger.n < 2 else "the champion's side")
            notes.append(f"no confidence can be given with a single run on {side}")
    gain_ok = None
    if min_gain is not None:
        need = min_gain.required(champion.mean)
        gain_ok = gain >= need - 1e-12 * max(abs(need), 1.0)
        need_text = fmt(need) + (f" ({min_gain.describe()})" if min_gain.relative else "")
        notes.append(f"gain {fmt(gain)} {'≥' if gain_ok else '<'} {need_text}")
    else:
        notes.append(f"gain {fmt(gain)}")
    replace = better and confident is not False and gain_ok is not False
    if replace:
        word = "better"
    elif not better:
        word = "tie, the champion stays" if gain == 0 else "worse"
    elif confident is False:
        word = "not better with confidence"
    else:
        word = "better by less than the minimum gain"
    text = (f"{describe_side(challenger_label, challenger, show_n)} vs champion {describe_side(champion_label, champion, show_n)}: "
            f"{word}, " + ", ".join(notes))
    return Verdict(replace, text, gain, p, better, confident, gain_ok)
