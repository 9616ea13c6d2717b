"""Draw the stack's dashboard from the local pipeline's metrics, as a PNG.

The widgets are the ``Dashboard`` resource of ``infra/users-table.yaml`` (read through
:mod:`infra.dashboard`, variables filled with this pipeline's values): the same titles, grid
positions, metrics and statistics as the production dashboard. Each metric is drawn from
:class:`~devtools.localmetrics.MetricStore`: the EMF lines the function wrote, what the local
event source mapping measured, the on-failure queue's depth. A local run lasts seconds, not
hours, so each widget's period is scaled to the run: the run is cut into :data:`BUCKETS`
periods, each the same statistic over its datapoints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from devtools.localmetrics import MetricStore, Point, sample_queue, summary, summary_text
from devtools.running import Pipeline
from infra.dashboard import body

__all__ = [
    "BUCKETS",
    "DEFAULT_OUTPUT",
    "draw_dashboard",
    "local_values",
    "pipeline_values",
    "render",
]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "build" / "dashboard.png"
BUCKETS = 30
ROW_INCHES = 0.6  # one grid row
COLUMNS = 24

STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "Sum": sum,
    "Maximum": max,
    "Minimum": min,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": len,
}


def local_values(
    *, region: str, function: str, queue: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The dashboard's variables for a local pipeline (namespace and stage as the function
    reads them: ``METRICS_NAMESPACE``, ``STAGE``)."""
    from chalicelib.metrics import metrics_settings

    namespace, stage = metrics_settings(os.environ if environ is None else environ)
    return {
        "AWS::Region": region,
        "Function": function,
        "Namespace": namespace,
        "Stage": stage,
        "Queue": queue,
    }


def bucketed(points: Sequence[Point], start: float, width: float, stat: str) -> list[Point]:
    """``points`` as one value per period of ``width`` seconds from ``start`` (empty periods
    left out, as CloudWatch leaves them)."""
    groups: dict[int, list[float]] = {}
    for at, value in points:
        groups.setdefault(int((at - start) // width), []).append(value)
    return [(index * width, STATISTICS[stat](groups[index])) for index in sorted(groups)]


def _draw_widget(ax: Any, widget: Mapping[str, Any], store: MetricStore, window: Point) -> int:
    """Draw one metric widget; the number of its series that have data."""
    properties = widget["properties"]
    start, width = window
    drawn = 0
    for row in properties["metrics"]:
        namespace, name, options = row[0], row[1], row[-1]
        series = bucketed(store.points(namespace, name), start, width, options["stat"])
        xs = [at for at, _ in series]
        ys = [value for _, value in series]
        label = f"{name} ({options['stat']})"
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=label)
        drawn += bool(series)
    ax.set_title(properties["title"], fontsize=10, loc="left")
    ax.set_xlim(0, width * BUCKETS)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left")
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="grey")
    return drawn


def render(
    store: MetricStore, values: Mapping[str, str], output: Path = DEFAULT_OUTPUT
) -> dict[str, int]:
    """Draw every widget of the dashboard into ``output`` (PNG); each widget's title with the
    number of its series that have data."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.gridspec import GridSpec

    widgets = body(values)["widgets"]
    rows = max(w["y"] + w["height"] for w in widgets)
    span = store.span() or (0.0, 1.0)
    window = (span[0], max((span[1] - span[0]) / (BUCKETS - 1), 1e-3))
    figure = pyplot.figure(figsize=(COLUMNS * 0.7, rows * ROW_INCHES + 0.8))
    grid = GridSpec(rows, COLUMNS, figure=figure, hspace=12, wspace=3)
    drawn: dict[str, int] = {}
    for widget in widgets:
        x, y, w, h = widget["x"], widget["y"], widget["width"], widget["height"]
        ax = figure.add_subplot(grid[y : y + h, x : x + w])
        if widget["type"] == "metric":
            drawn[widget["properties"]["title"]] = _draw_widget(ax, widget, store, window)
        else:
            ax.axis("off")
            ax.text(0, 1, str(widget["properties"].get("markdown", "")), va="top", fontsize=8)
    figure.suptitle(
        f"users-stream dashboard - local run of {values['Function']}, stage {values['Stage']} "
        "(x: seconds into the run)",
        fontsize=12,
        x=0.01,
        ha="left",
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=80, bbox_inches="tight")
    pyplot.close(figure)
    return drawn


def pipeline_values(pipeline: Pipeline) -> dict[str, str]:
    """The dashboard's variables for a running local pipeline."""
    return local_values(
        region=pipeline.emulator.region,
        function=pipeline.poller.config.function_name,
        queue=pipeline.stack.queue_url.rsplit("/", 1)[-1],
    )


def draw_dashboard(pipeline: Pipeline, started: float | None = None) -> Path | None:
    """The run's metrics in one line, and the stack's dashboard drawn from them (PNG)."""
    store, output = pipeline.metrics, pipeline.dashboard
    if store is None or output is None:
        return None
    console = pipeline.console
    sample_queue(store, pipeline.emulator.client("sqs"), pipeline.stack.queue_url)
    values = pipeline_values(pipeline)
    span = store.span()
    since = started if started is not None else (span[0] if span else 0.0)
    figures = summary(store, values["Namespace"], since, store.clock() + 1)
    console.say(f"Final {summary_text(figures)}", "metrics", final=True, **figures)
    render(store, values, output)
    console.say(
        f"Dashboard drawn from {store.emf_lines} EMF line(s), the same widgets as the stack's "
        f"(infra/users-table.yaml): {output}",
        "dashboard",
        path=str(output),
        emf_lines=store.emf_lines,
    )
    return output
