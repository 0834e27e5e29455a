"""Figures of a benchmark: percentiles of samples, and min/median/max over repetitions with the caseloop/baseline
ratio."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1); NaN for no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Figure:
    """One measured quantity: its value in each repetition, for caseloop and (when there is one) the baseline."""

    scenario: str
    name: str
    unit: str
    caseloop: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    higher_is_better: bool = False
    note: str = ""

    def summary(self, values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}

    @property
    def ratio(self) -> float | None:
        """caseloop's median over the baseline's median (None without a baseline)."""
        if not self.caseloop or not self.baseline:
            return None
        base = statistics.median(self.baseline)
        if base == 0:
            return None
        return statistics.median(self.caseloop) / base

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "name": self.name,
            "unit": self.unit,
            "caseloop": self.summary(self.caseloop),
            "baseline": self.summary(self.baseline),
            "caseloop_runs": self.caseloop,
            "baseline_runs": self.baseline,
            "ratio": self.ratio,
            "higher_is_better": self.higher_is_better,
            "note": self.note,
        }


class Figures:
    """Every figure of a run, in the order they were first measured."""

    def __init__(self) -> None:
        self._figures: dict[tuple[str, str], Figure] = {}

    def figure(self, scenario: str, name: str, unit: str, *, higher_is_better: bool = False, note: str = "") -> Figure:
        key = (scenario, name)
        if key not in self._figures:
            self._figures[key] = Figure(scenario, name, unit, higher_is_better=higher_is_better, note=note)
        return self._figures[key]

    def add(
        self,
        scenario: str,
        name: str,
        unit: str,
        *,
        caseloop: float | None = None,
        baseline: float | None = None,
        higher_is_better: bool = False,
        note: str = "",
    ) -> None:
        figure = self.figure(scenario, name, unit, higher_is_better=higher_is_better, note=note)
        if caseloop is not None:
            figure.caseloop.append(caseloop)
        if baseline is not None:
            figure.baseline.append(baseline)

    def record(
        self,
        scenario: str,
        name: str,
        unit: str,
        *,
        side: str,
        value: float,
        higher_is_better: bool = False,
        note: str = "",
    ) -> None:
        """Adds `value` to `side` ("caseloop" or "baseline")."""
        figure = self.figure(scenario, name, unit, higher_is_better=higher_is_better, note=note)
        (figure.caseloop if side == "caseloop" else figure.baseline).append(value)

    def __iter__(self) -> Iterator[Figure]:
        return iter(self._figures.values())
