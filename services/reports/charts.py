"""The report's charts (matplotlib, Agg backend, imported only when a report is drawn).

Departments and localities are labelled by name when a CJK font is installed (Debian's fonts-noto-cjk,
tests/support/ensure-fonts.sh) and by code otherwise, so a machine without one still draws legible charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from schemas.reports import AssessedUnit, CardCount, Hotspot, ReportFigures, ReportKind

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Preferred first: the registry's names are written in traditional characters.
CJK_FAMILIES = (
    "Noto Sans CJK TC",
    "Noto Sans CJK SC",
    "Noto Sans CJK HK",
    "Noto Sans CJK JP",
    "Noto Serif CJK TC",
    "Noto Serif CJK SC",
    "Source Han Sans TW",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
GOOD, BAD, YELLOW, RED, NEUTRAL = "#2e7d32", "#c62828", "#f9a825", "#c62828", "#546e7a"
BARS = 15  # the most bars a chart shows; the tables list the rest


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK family, or None: then charts and the PDF name units by code."""
    _pyplot()
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@dataclass(frozen=True)
class Labels:
    """How units are named on the page: 'name' with a CJK font, else the code."""

    cjk: bool

    def unit(self, code: str, name: str) -> str:
        return name if self.cjk and name and name != code else code

    @property
    def font(self) -> list[str]:
        family = cjk_font() if self.cjk else None
        return [family, "DejaVu Sans"] if family else ["DejaVu Sans"]


def title_of(figures: ReportFigures, labels: Labels) -> str:
    kind = "Monthly report" if figures.period.kind is ReportKind.MONTHLY else "Quarterly circular"
    chinese = "月度調度報告" if figures.period.kind is ReportKind.MONTHLY else "季度通報"
    return f"{kind} {figures.period.label}" + (f" · {chinese}" if labels.cjk else "")


def new_figure(width: float, height: float, labels: Labels) -> Figure:
    plt = _pyplot()
    plt.rcParams["font.family"] = labels.font
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    figure: Figure = plt.figure(figsize=(width, height), dpi=110)
    return figure


def close(figure: Figure) -> None:
    _pyplot().close(figure)


def chart_height(bars: int) -> float:
    """Inches a chart of `bars` bars needs to stay legible."""
    return max(2.6, 0.42 * min(bars, BARS) + 1.5)


def _tidy(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)


def _empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=NEUTRAL, transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def draw_ranking(axes: Any, units: Sequence[AssessedUnit], title: str, labels: Labels) -> None:
    """Horizontal bars, best at the top; gains green, losses red, each bar labelled with its points."""
    _tidy(axes)
    axes.set_title(title, loc="left", fontsize=13, fontweight="bold")
    shown = list(units[:BARS])
    if not shown:
        _empty(axes, "no score events in this period")
        return
    names = [f"{unit.rank}. {labels.unit(unit.code, unit.name)}" for unit in shown]
    points = [float(unit.points) for unit in shown]
    bars = axes.barh(range(len(shown)), points, color=[GOOD if p >= 0 else BAD for p in points], height=0.6)
    axes.set_yticks(range(len(shown)), names, fontsize=10)
    axes.invert_yaxis()
    axes.axvline(0, color="#333333", linewidth=0.8)
    axes.bar_label(bars, labels=[f"{value:+g}" if value else "0" for value in points], padding=4, fontsize=9)
    low, high = min([*points, 0.0]), max([*points, 0.0])
    margin = max(1.0, (high - low) * 0.18)
    axes.set_xlim(low - margin, high + margin)
    axes.set_xlabel("points (at the weights of each unit's locality)")
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)


def draw_cards(axes: Any, cards: Sequence[CardCount], labels: Labels) -> None:
    _tidy(axes)
    axes.set_title("Cards issued by department" + (" · 紅黃牌" if labels.cjk else ""), loc="left", fontsize=13,
                   fontweight="bold")  # fmt: skip
    shown = list(cards[:BARS])
    if not shown:
        _empty(axes, "no cards in this period")
        return
    rows = list(range(len(shown)))
    red = [count.red for count in shown]
    yellow = [count.yellow for count in shown]
    axes.barh(rows, red, color=RED, height=0.6, label="red")
    axes.barh(rows, yellow, left=red, color=YELLOW, height=0.6, label="yellow")
    for row, count in zip(rows, shown, strict=True):
        axes.text(count.red + count.yellow + 0.1, row, str(count.red + count.yellow), va="center", fontsize=9)
    axes.set_yticks(rows, [labels.unit(count.code, count.name) for count in shown], fontsize=10)
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlim(0, max(r + y for r, y in zip(red, yellow, strict=True)) * 1.15 + 0.5)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=9)


def draw_hotspots(axes: Any, spots: Sequence[Hotspot], title: str, labels: Labels) -> None:
    """Per matter or locality: cases opened beside what went wrong (red and yellow cards, late or overdue)."""
    _tidy(axes)
    axes.set_title(title, loc="left", fontsize=13, fontweight="bold")
    shown = list(spots[:BARS])
    if not shown:
        _empty(axes, "nothing in this period")
        return
    series = (
        ("cases opened", [spot.cases_opened for spot in shown], NEUTRAL),
        ("red cards", [spot.red_cards for spot in shown], RED),
        ("yellow cards", [spot.yellow_cards for spot in shown], YELLOW),
        ("late or past deadline", [spot.late_closes + spot.open_overdue for spot in shown], "#6a1b9a"),
    )
    height = 0.8 / len(series)
    for index, (name, values, colour) in enumerate(series):
        axes.barh([row + index * height for row in range(len(shown))], values, height=height, color=colour, label=name)
    axes.set_yticks(
        [row + height * (len(series) - 1) / 2 for row in range(len(shown))],
        [labels.unit(spot.code, spot.name) for spot in shown],
        fontsize=10,
    )
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(series), frameon=False, fontsize=9)


def draw_on_time(axes: Any, figures: ReportFigures, labels: Labels) -> None:
    """Closed on time against late, with the rate written large."""
    _tidy(axes)
    on_time = figures.on_time
    axes.set_title("Cases closed in the period" + (" · 按期辦結" if labels.cjk else ""), loc="left", fontsize=13,
                   fontweight="bold")  # fmt: skip
    if not on_time.closed:
        _empty(axes, "no case closed in this period")
        return
    axes.barh([0], [on_time.on_time], color=GOOD, height=0.5, label=f"on time ({on_time.on_time})")
    axes.barh([0], [on_time.late], left=[on_time.on_time], color=BAD, height=0.5, label=f"late ({on_time.late})")
    axes.set_yticks([])
    axes.set_xlim(0, on_time.closed)
    axes.xaxis.get_major_locator().set_params(integer=True)
    rate = on_time.rate
    assert rate is not None
    axes.text(1.0, 1.04, f"on-time rate {rate:.1%}", ha="right", va="bottom", transform=axes.transAxes, fontsize=13)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
