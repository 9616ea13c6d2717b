"""The pipeline benchmark measures what it says: every record written reaches the handler."""

from __future__ import annotations

from benchmarks.pipeline import PipelineFigures, measure_pipeline


def test_the_benchmark_counts_every_record_and_reports_both_figures():
    [figures] = measure_pipeline(
        records=30, latency_samples=5, write_rate=50, poll_interval=0.01, handlers=("noop",)
    )
    assert isinstance(figures, PipelineFigures)
    assert figures.records == 30
    assert figures.latency_samples == 5
    assert figures.records_per_second > 0
    assert 0 < figures.latency_median_ms <= figures.latency_p99_ms
    assert "records/s" in figures.line()
