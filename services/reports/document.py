"""The report's files in its directory: Markdown, CSV tables, PNG charts and one A4 PDF for circulation.

Each file is written beside its final name and renamed into place, so a reader never sees half a file, and a run
repeated for the same period replaces the files of the last one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from schemas.clock import SHANGHAI
from schemas.reports import ReportFigures, ReportFile
from services.reports import charts, markdown, tables
from services.reports.charts import Labels
from services.reports.tables import Table

A4 = (8.27, 11.69)
TABLE_ROWS = 18  # rows of a table the PDF prints; the CSV has them all
MARGIN, TITLE, ROW, GAP = 0.6, 0.35, 0.21, 0.35  # inches

MEDIA_TYPES = {".md": "text/markdown", ".csv": "text/csv", ".png": "image/png", ".pdf": "application/pdf"}

Draw = Callable[[Any], None]


def _write(path: Path, content: bytes) -> ReportFile:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)
    return ReportFile(name=path.name, media_type=MEDIA_TYPES[path.suffix], bytes=len(content))


def _chart_specs(figures: ReportFigures, labels: Labels) -> list[tuple[str, int, Draw]]:
    """(file name, bars, how to draw it) of every chart."""
    cjk = labels.cjk
    return [
        (markdown.CHARTS["on-time"], 1, lambda axes: charts.draw_on_time(axes, figures, labels)),
        (
            markdown.CHARTS["departments"],
            len(figures.departments),
            lambda axes: charts.draw_ranking(
                axes, figures.departments, "Ranking of departments" + (" · 部門排名" if cjk else ""), labels
            ),
        ),
        (
            markdown.CHARTS["localities"],
            len(figures.localities),
            lambda axes: charts.draw_ranking(
                axes, figures.localities, "Ranking of localities" + (" · 縣區排名" if cjk else ""), labels
            ),
        ),
        (markdown.CHARTS["cards"], len(figures.cards), lambda axes: charts.draw_cards(axes, figures.cards, labels)),
        (
            markdown.CHARTS["matters"],
            len(figures.matter_hotspots),
            lambda axes: charts.draw_hotspots(
                axes, figures.matter_hotspots, "Hotspots by matter" + (" · 事項熱點" if cjk else ""), labels
            ),
        ),
        (
            markdown.CHARTS["localities-hotspots"],
            len(figures.locality_hotspots),
            lambda axes: charts.draw_hotspots(
                axes, figures.locality_hotspots, "Hotspots by locality" + (" · 縣區熱點" if cjk else ""), labels
            ),
        ),
    ]


def _png(draw: Draw, bars: int, labels: Labels) -> bytes:
    import io

    figure = charts.new_figure(8.27, 2.4 if bars <= 1 else charts.chart_height(bars), labels)
    try:
        draw(figure.add_subplot())
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        charts.close(figure)


def _print_table(page: Any, top: float, table: Table, columns: Sequence[int], labels: Labels) -> float:
    """Prints the table's title and its first TABLE_ROWS rows from `top` (inches from the page's foot) down;
    answers where the next one may start."""
    width, height = A4
    page.text(MARGIN / width, top / height, table.title, fontsize=12, fontweight="bold", va="top")
    top -= TITLE
    if not table.rows:
        page.text(MARGIN / width, top / height, "None in this period.", fontsize=9, color=charts.NEUTRAL, va="top")
        return top - ROW - GAP
    if not labels.cjk:  # without a CJK font names would print as empty boxes: codes say it
        columns = [column for column in columns if table.header[column] != "name"]
    rows = [[str(row[i]) for i in columns] for row in table.rows[:TABLE_ROWS]]
    tall = ROW * (len(rows) + 1)
    axes = page.add_axes((MARGIN / width, (top - tall) / height, 1 - 2 * MARGIN / width, tall / height))
    axes.axis("off")
    header = [table.header[i] for i in columns]
    printed = axes.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="left", colLoc="left")
    printed.auto_set_font_size(False)
    printed.set_fontsize(8)
    printed.auto_set_column_width(list(range(len(header))))
    for (row, _), cell in printed.get_celld().items():
        cell.set_edgecolor("#cccccc")
        cell.set_height(1 / (len(rows) + 1))
        if row == 0:
            cell.set_facecolor("#eceff1")
            cell.set_text_props(fontweight="bold")
    top -= tall
    if len(table.rows) > TABLE_ROWS:
        more = f"… and {len(table.rows) - TABLE_ROWS} more in {table.name}.csv"
        page.text(MARGIN / width, (top - 0.05) / height, more, fontsize=8, va="top", color=charts.NEUTRAL)
        top -= ROW
    return top - GAP


def _table_pages(printed: Sequence[tuple[Table, Sequence[int]]], labels: Labels) -> list[Any]:
    """The tables one below the other, a new page when the next does not fit."""
    pages: list[Any] = []
    top = 0.0
    for table, columns in printed:
        needs = TITLE + ROW * (min(len(table.rows), TABLE_ROWS) + 2)
        if not pages or top - needs < MARGIN:
            pages.append(charts.new_figure(*A4, labels))
            top = A4[1] - MARGIN
        top = _print_table(pages[-1], top, table, columns, labels)
    return pages


def _cover(figures: ReportFigures, labels: Labels) -> Any:
    page = charts.new_figure(*A4, labels)
    title = charts.title_of(figures, labels)
    period = figures.period
    page.text(0.07, 0.94, title, fontsize=20, fontweight="bold")
    page.text(
        0.07,
        0.915,
        f"{period.start.astimezone(SHANGHAI).date()} to {period.last_day} (Asia/Shanghai) · generated "
        f"{figures.generated_at.astimezone(SHANGHAI).isoformat(timespec='minutes')}",
        fontsize=9,
        color=charts.NEUTRAL,
    )
    v, t = figures.volumes, figures.on_time
    rate = "—" if t.rate is None else f"{t.rate:.1%}"
    tiles = (
        ("cases opened", str(v.cases_opened)),
        ("cases closed", str(v.cases_closed)),
        ("on-time rate", rate),
        ("red cards", str(sum(c.red for c in figures.cards))),
        ("yellow cards", str(sum(c.yellow for c in figures.cards))),
        ("typical cases", str(len(figures.typical_cases))),
        ("open at the end", str(v.cases_open_at_end)),
        ("hand-offs pushed", str(v.handoffs_created)),
        ("loops open", str(v.handoffs_open_at_end)),
    )
    for index, (name, value) in enumerate(tiles):
        x, y = 0.07 + (index % 3) * 0.3, 0.84 - (index // 3) * 0.085
        page.text(x, y, value, fontsize=22, fontweight="bold", color="#263238")
        page.text(x, y - 0.022, name, fontsize=9, color=charts.NEUTRAL)
    charts.draw_on_time(page.add_axes((0.07, 0.53, 0.86, 0.07)), figures, labels)
    _print_table(page, A4[1] * 0.44, tables.volumes(figures), [0, 1], labels)
    return page


def _chart_page(draws: Sequence[tuple[int, Draw]], labels: Labels) -> Any:
    page = charts.new_figure(*A4, labels)
    weights = [max(3, min(bars, charts.BARS)) for bars, _ in draws]
    grid = page.add_gridspec(len(draws), 1, height_ratios=weights, hspace=0.55, left=0.3, right=0.93, top=0.95,
                             bottom=0.1)  # fmt: skip
    for index, (_, draw) in enumerate(draws):
        draw(page.add_subplot(grid[index]))
    return page


def _pdf(figures: ReportFigures, specs: list[tuple[str, int, Draw]], labels: Labels) -> bytes:
    import io

    from matplotlib.backends.backend_pdf import PdfPages

    by_name = {name: (bars, draw) for name, bars, draw in specs}
    chart = markdown.CHARTS
    pages = [
        _cover(figures, labels),
        _chart_page([by_name[chart["departments"]], by_name[chart["localities"]]], labels),
        _chart_page(
            [by_name[chart["cards"]], by_name[chart["matters"]], by_name[chart["localities-hotspots"]]], labels
        ),
        *_table_pages(
            [
                (tables.departments(figures), [0, 1, 2, 3, 4]),
                (tables.typical_cases(figures), [0, 1, 2, 3, 4, 5, 7, 8]),
                (tables.escalations(figures), [0, 1, 2]),
                (tables.open_loops(figures), [0, 1, 2, 3, 4, 6]),
                (tables.reconciliation(figures), [0, 1, 2]),
                # Printed when the period expected any delivery, as the Markdown has its section.
                *([(tables.scheduled_deliveries(figures), range(8))] if figures.scheduled_deliveries else []),
            ],
            labels,
        ),
    ]
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": charts.title_of(figures, Labels(False)), "Creator": "caseloop"}) as pdf:
        for page in pages:
            pdf.savefig(page)
            charts.close(page)
    return out.getvalue()


def write_report(figures: ReportFigures, directory: Path) -> list[ReportFile]:
    """Writes every file of the report into `directory` (created if missing); answers them in a stable order."""
    directory.mkdir(parents=True, exist_ok=True)
    labels = Labels(cjk=charts.cjk_font() is not None)
    written = [_write(directory / "report.md", markdown.render(figures).encode())]
    written += [_write(directory / f"{t.name}.csv", t.csv().encode()) for t in tables.all_tables(figures)]
    specs = _chart_specs(figures, labels)
    written += [_write(directory / name, _png(draw, bars, labels)) for name, bars, draw in specs]
    written.append(_write(directory / "report.pdf", _pdf(figures, specs, labels)))
    return written
