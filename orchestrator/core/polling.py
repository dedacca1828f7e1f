"""Polling that learns: poll each export when it is likely done, not on a fixed clock.

An export's time to ready is modelled per export id and window length as a log-normal
distribution, learned from what earlier exports took (this run's and, through the journal,
earlier runs'). What a poll observes is an interval: the export was not ready at the previous
poll and is ready now, so its time lies in (lower, upper]. The model is fitted to those
intervals as interval-censored data, so polling early or late does not bias what is learned,
and a model that is too slow or too fast corrects itself within a few generations of exports.

The schedule of one export, after `elapsed` seconds since its submit and `polls` polls:

    with a model:   wait until the first of the model's quantiles (0.75, 0.92, 0.98) still ahead,
                    then grow the wait geometrically with the time spent: elapsed x (growth - 1);
                    while no export of the kind was ever seen unready (the model has only upper
                    bounds), the first poll probes earlier: at probe (0.5) x the model's median
    without one:    first_seconds x growth ** polls (a short first poll: learn fast)
    both:           at most max_seconds; jitter in [0.9, 1.1) spreads polls; under request
                    budget pressure p in [0, 1] the quantiles move up (fewer, surer polls)

Pure: no clock (callers pass `elapsed`), no randomness (callers pass `jitter`), no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from statistics import NormalDist

OBSERVATIONS_KEPT = 5000
"""Most recent durations a journal hands back for the model: plenty per kind of export."""
_STANDARD = NormalDist()
_ROOT_TWO = math.sqrt(2.0)
_ROOT_TWO_PI = math.sqrt(2.0 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / _ROOT_TWO))


def _pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / _ROOT_TWO_PI


@dataclass(frozen=True, slots=True)
class Observation:
    """One export's time to ready, known to lie in (lower, upper] seconds after its submit."""

    export_id: str
    window_seconds: int
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class LogNormal:
    mu: float
    sigma: float
    bounded: bool = True
    """Whether some export of the kind was ever seen unready (its interval had a lower bound).
    Until one is, the fit knows only that exports were ready by the time they were polled, and
    polls made late (a busy client, a slow network, a first poll on the cold schedule) keep it
    late, however short the exports are."""

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * _STANDARD.inv_cdf(min(max(q, 1e-6), 1 - 1e-6)))


class DurationModel:
    """What exports took, by (export id, window length), as log-normal distributions.

    Each kind keeps its last `memory` observations as intervals of log time; its model is fitted
    by expectation-maximisation for interval-censored normal data (the truncated normal's first
    two moments stand in for each unseen value), a few steps from the previous fit once an eighth
    of what it remembers is new (at once for its first observations, and when an export of the
    kind is first seen unready), so one surprising export moves the model a little, not a lot,
    and a busy run does not refit on every export.
    """

    def __init__(
        self,
        *,
        prior_sigma: float = 0.35,
        min_sigma: float = 0.05,
        memory: int = 32,
        steps: int = 2,
    ) -> None:
        self._prior_sigma = prior_sigma
        self._min_sigma = min_sigma
        self._memory = memory
        self._steps = steps
        self._intervals: dict[object, deque[tuple[float, float]]] = {}
        self._fits: dict[object, LogNormal] = {}
        self._unfitted: dict[object, int] = {}
        """Observations of each kind since its last fit."""
        self._bounded: set[object] = set()
        """Kinds (and export ids) of which some export was ever seen unready."""

    def __repr__(self) -> str:
        return f"DurationModel(kinds={len(self._fits)})"

    def learn(self, observation: Observation) -> None:
        """Take in one observation; the models it belongs to are refitted when next asked for."""
        upper = math.log(max(observation.upper, 1e-3))
        lower = math.log(observation.lower) if observation.lower > 0 else -math.inf
        lower = min(lower, upper)
        for key in ((observation.export_id, observation.window_seconds), observation.export_id):
            intervals = self._intervals.setdefault(key, deque(maxlen=self._memory))
            intervals.append((lower, upper))
            self._unfitted[key] = self._unfitted.get(key, 0) + 1
            if lower > -math.inf and key not in self._bounded:
                self._bounded.add(key)
                self._fits.pop(key, None)  # what a probe found must count at once

    def estimate(self, export_id: str, window_seconds: int) -> LogNormal | None:
        """The model for this kind of export: its own, else its export id's, else none."""
        return self._fit((export_id, window_seconds)) or self._fit(export_id)

    def _fit(self, key: object) -> LogNormal | None:
        new = self._unfitted.get(key, 0)
        fit = self._fits.get(key)
        if new and (fit is None or new >= len(self._intervals[key]) // 8):
            self._unfitted[key] = 0
            fit = self._refit(self._intervals[key], fit)
            fit = self._fits[key] = replace(fit, bounded=key in self._bounded)
        return fit

    def _refit(self, intervals: deque[tuple[float, float]], fit: LogNormal | None) -> LogNormal:
        if fit is None:
            lower, upper = intervals[-1]
            start = upper if math.isinf(lower) else (lower + upper) / 2
            fit = LogNormal(start, self._prior_sigma)
        mu, sigma = fit.mu, fit.sigma
        for _ in range(self._steps):
            first = second = 0.0
            for lower, upper in intervals:
                mean, square = _moments(lower, upper, mu, sigma)
                first += mean
                second += square
            count = len(intervals)
            mu = first / count
            variance = max(second / count - mu * mu, 0.0)
            weight = min(count - 1, 8) / 8  # few observations say little about the spread
            sigma = math.sqrt(weight * variance + (1 - weight) * self._prior_sigma**2)
            sigma = max(sigma, self._min_sigma)
        return LogNormal(mu, sigma)


def _moments(lower: float, upper: float, mu: float, sigma: float) -> tuple[float, float]:
    """E[x] and E[x^2] of x ~ N(mu, sigma) known to lie in (lower, upper]."""
    if upper - lower < 1e-9:
        return upper, upper * upper
    alpha, beta = (lower - mu) / sigma, (upper - mu) / sigma
    mass = _cdf(beta) - (0.0 if math.isinf(alpha) else _cdf(alpha))
    if mass < 1e-12:  # the fit thinks this impossible: take the interval's own middle
        value = upper if math.isinf(lower) else (lower + upper) / 2
        return value, value * value
    density_a = 0.0 if math.isinf(alpha) else _pdf(alpha)
    density_b = _pdf(beta)
    shift = (density_a - density_b) / mass
    spread = 1 + ((0.0 if math.isinf(alpha) else alpha * density_a) - beta * density_b) / mass
    mean = mu + sigma * shift
    return mean, sigma * sigma * max(spread - shift * shift, 0.0) + mean * mean


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How long to wait before each status poll of one export (see the module docstring)."""

    first_seconds: float = 1.0
    growth: float = 1.5
    max_seconds: float = 60.0
    quantiles: tuple[float, ...] = (0.75, 0.92, 0.98)
    min_seconds: float = 0.05
    probe: float = 0.5
    """Share of the model's median at which a first poll probes while the kind was never seen
    unready: each generation of exports halves the wait until a poll finds one unready, and from
    then on the quantiles, fitted to both bounds, say when."""

    def delay(
        self,
        polls: int,
        *,
        elapsed: float = 0.0,
        model: LogNormal | None = None,
        jitter: float = 0.5,
        pressure: float = 0.0,
    ) -> float:
        """Seconds to wait before the next poll of an export submitted `elapsed` seconds ago
        that has been polled `polls` times."""
        spread = 0.9 + 0.2 * min(max(jitter, 0.0), 1.0)
        if model is None:
            exponent = min(max(polls, 0), 64)
            wait = self.first_seconds * self.growth**exponent * spread
        elif polls == 0 and not model.bounded and model.median * self.probe - elapsed > 0:
            wait = (model.median * self.probe - elapsed) * spread
        else:
            # the next quantile still ahead (an export polled on the cold schedule before the
            # model existed, or one that waited for the budget, goes to the right one), then the
            # geometric tail
            wait = max(elapsed, model.median) * (self.growth - 1) * spread
            for quantile in self.quantiles:
                quantile += (1 - quantile) * 0.5 * min(max(pressure, 0.0), 1.0)
                ahead = model.quantile(quantile) - elapsed
                if ahead > self.min_seconds:
                    wait = ahead
                    break
        return min(max(wait, self.min_seconds), self.max_seconds)
