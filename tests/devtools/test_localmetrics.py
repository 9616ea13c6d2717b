"""The local pipeline's metrics: EMF lines read from what the function writes, the Lambda-side
measurements, the summary line of make run, and the dashboard drawn from the stack's widgets."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.service import UsersStream
from devtools import serve
from devtools.dashboard import bucketed, local_values, render
from devtools.localmetrics import (
    EmfTee,
    MetricStore,
    summary,
    summary_text,
    tee_stdout,
    watching,
)
from devtools.stream_events import FakeStream
from infra.dashboard import body

ENV = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}
ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}


def run_app(store: MetricStore, records: int = 3) -> str:
    """A batch through the real UsersStream writing to standard output, collected by a tee."""
    stream = FakeStream()
    event = stream.event([stream.modify(ADA, {**ADA, "n": i}) for i in range(records)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), tee_stdout(store):
        UsersStream(environ=ENV).handle(event)
    return out.getvalue()


def test_the_tee_passes_every_line_on_and_collects_the_emf_line() -> None:
    store = MetricStore()
    written = run_app(store)
    assert store.emf_lines == 1
    assert len(written.splitlines()) == 4  # three change lines and the metrics line, unchanged
    assert [v for _, v in store.points("UsersStream", "RecordsModify")] == [3.0]


def test_a_line_written_in_pieces_is_collected_once_and_other_lines_are_not() -> None:
    store, out = MetricStore(), io.StringIO()
    tee = EmfTee(out, store)
    document = {
        "_aws": {
            "Timestamp": 1_000_000,
            "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "M"}]}
            ],
        },
        "M": [1, 2],
    }
    line = json.dumps(document, separators=(",", ":"))
    for piece in ('{"level":"INFO"}\n', line[:10], line[10:], '\n{"_aws": broken\n'):
        tee.write(piece)
    assert store.points("N", "M") == [(1000.0, 1.0), (1000.0, 2.0)]
    assert store.emf_lines == 1
    assert out.getvalue().count("\n") == 3


def test_the_handler_is_measured_as_lambda_measures_it() -> None:
    store = MetricStore(clock=lambda: 1_000.0)
    event = {"Records": [{"dynamodb": {"ApproximateCreationDateTime": t}} for t in (990, 995)]}

    def failing(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    assert watching(lambda e, c: {"batchItemFailures": []}, store)(event, None)
    with pytest.raises(RuntimeError):
        watching(failing, store)(event, None)
    assert [v for _, v in store.points("AWS/Lambda", "Invocations")] == [1.0, 1.0]
    assert [v for _, v in store.points("AWS/Lambda", "Errors")] == [0.0, 1.0]
    assert [v for _, v in store.points("AWS/Lambda", "IteratorAge")] == [5_000.0, 5_000.0]
    assert len(store.points("AWS/Lambda", "Duration")) == 2


def test_the_summary_counts_one_window() -> None:
    store = MetricStore()
    run_app(store, records=4)
    (at, _), *_ = store.points("UsersStream", "RecordsModify")
    figures = summary(store, "UsersStream", at - 1, at + 1)
    assert (figures["records"], figures["records_per_second"]) == (4, 2.0)
    assert figures["emails"] == {"sent": 0, "skipped": 0, "rejected": 0, "duplicate": 0}
    assert summary(store, "UsersStream", at + 1, at + 2)["records"] == 0
    assert "2.0 records/s" in summary_text(figures)


def test_make_run_prints_the_summary_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[tuple[str, dict[str, Any]]] = []
    store = MetricStore()
    pipeline: Any = SimpleNamespace(
        metrics=store,
        emulator=SimpleNamespace(region="us-east-1"),
        poller=SimpleNamespace(config=SimpleNamespace(function_name="f")),
        stack=SimpleNamespace(queue_url="http://q/queue"),
        console=SimpleNamespace(say=lambda text, kind, **fields: said.append((text, fields))),
    )
    line = serve.MetricsLine(pipeline)
    line.tick()
    assert said == []  # not yet: every METRICS_EVERY seconds
    line.since -= serve.METRICS_EVERY
    run_app(store, records=2)
    line.tick()
    ((text, fields),) = said
    assert text.startswith("metrics: ")
    assert (fields["records"], fields["final"]) == (2, False)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]  # the IHDR chunk
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_picture_has_every_widget_of_the_stacks_dashboard(tmp_path: Path) -> None:
    store = MetricStore()
    run_app(store)
    values = local_values(region="us-east-1", function="f", queue="q", environ={})
    drawn = render(store, values, tmp_path / "dashboard.png")
    titles = [w["properties"]["title"] for w in body(values)["widgets"]]
    assert list(drawn) == titles
    assert drawn["Records by type"] == 4  # every series of it has data
    assert drawn["Iterator age (ms)"] == 0  # nothing invoked through the watched handler
    width, height = png_size(tmp_path / "dashboard.png")
    assert width > height > 300


def test_periods_take_the_widgets_statistic() -> None:
    points = [(0.0, 1.0), (0.5, 3.0), (2.5, 7.0)]
    assert bucketed(points, 0.0, 1.0, "Sum") == [(0.0, 4.0), (2.0, 7.0)]
    assert bucketed(points, 0.0, 1.0, "Maximum") == [(0.0, 3.0), (2.0, 7.0)]
    assert bucketed(points, 0.0, 1.0, "Average") == [(0.0, 2.0), (2.0, 7.0)]


def test_the_fault_run_collects_every_invocations_metrics_and_draws_the_dashboard(
    emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devtools.faults import FaultRun
    from devtools.faults.command import _draw

    run = FaultRun(changes=60, seed=7, emulator=emulator, chunks=2)
    report = run.run()
    assert report.ok, report.text()
    store = run.metrics
    invocations = len(store.points("AWS/Lambda", "Invocations"))
    assert store.emf_lines > 0
    assert store.emf_lines <= invocations  # a killed process writes no line, as in Lambda
    sent = sum(v for _, v in store.points("UsersStream", "WelcomeEmailsSent"))
    assert sent == report.emails  # what SES accepted, counted from the EMF lines
    assert "_aws" not in capsys.readouterr().out  # nothing on standard output
    _draw(store, tmp_path / "faults.png", quiet=True)
    assert png_size(tmp_path / "faults.png")[0] > 300
