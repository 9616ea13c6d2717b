"""The benchmark report: a table printed to the terminal, docs/benchmarks.md and the plot."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Report", "Row", "machine_description", "plot_scaling"]


@dataclass(frozen=True)
class Row:
    """One figure: ours, the contender, the ratio and the target it is held to."""

    figure: str
    ours: str
    contender: str
    ratio: float | None = None
    target: float | None = None  # the ratio must be at most this (or at least, see below)
    at_least: bool = False  # the target is a floor (a speed-up), not a ceiling

    @property
    def passed(self) -> bool | None:
        if self.ratio is None or self.target is None:
            return None
        return self.ratio >= self.target if self.at_least else self.ratio <= self.target

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        if self.target is None:
            target = ""
        else:
            target = f"{'>=' if self.at_least else '<='} {self.target:g}x"
        verdict = {True: "pass", False: "FAIL", None: ""}[self.passed]
        return [self.figure, self.ours, self.contender, ratio, target, verdict]


HEADER = ["Figure", "users-stream", "Contender", "Ratio", "Target", "Result"]


@dataclass
class Report:
    command: str
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    rows: list[Row] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (title, markdown body)
    scaling: tuple[list[int], dict[str, list[float]]] | None = None  # sizes, seconds per name

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print("  " + " | ".join(c for c in row.cells() if c), flush=True)

    def section(self, title: str, body: str) -> None:
        self.sections.append((title, body.strip()))

    def table(self) -> str:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        rows = sorted(self.rows, key=lambda row: _number(row.figure))  # stable: figure order
        lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
        return "\n".join(lines)

    def markdown(self, plot_name: str | None) -> str:
        parts = [
            "# Benchmarks",
            "",
            "Written by `python -m benchmarks` (`make bench`); do not edit by hand.",
            "",
            f"- Command: `{self.command}`",
            f"- Date: {self.started.strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Machine: {machine_description()}",
            "",
            self.table(),
            "",
            "Ratios are users-stream's time over the contender's, measured in the same process",
            "and run (figure 4: the concurrent rate over the serial rate).",
        ]
        if plot_name:
            parts += ["", f"![Decode time against batch size]({plot_name})"]
        for title, body in sorted(self.sections, key=lambda section: _number(section[0])):
            parts += ["", f"## {title}", "", body]
        return "\n".join(parts) + "\n"

    def write(self, docs: Path, plot_name: str | None) -> Path:
        path = docs / "benchmarks.md"
        path.write_text(self.markdown(plot_name), encoding="utf-8")
        return path


def _number(title: str) -> int:
    """The figure number a title starts with ("4. Welcome ..." -> 4); others go last."""
    head = title.split(".", 1)[0]
    return int(head) if head.isdigit() else 99


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_description() -> str:
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.2f} at the end"
    return (
        f"{_cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}{load}"
    )


def plot_scaling(
    sizes: Sequence[int], seconds: Mapping[str, Sequence[float]], path: Path, title: str
) -> Path:
    """Decode time (ms) against batch size, one line per contender, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name, values in seconds.items():
        axes.plot(sizes, [v * 1000 for v in values], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("records in the batch")
    axes.set_ylabel("time to decode every image (ms, best run)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
