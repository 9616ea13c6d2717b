"""Figures 4 and 6: rates over local HTTP - welcome emails to an SES stand-in, the pipeline."""

from __future__ import annotations

from benchmarks.figures.plan import Plan
from benchmarks.report import Report, Row

__all__ = ["run_emails", "run_pipeline"]


def run_emails(report: Report, plan: Plan) -> None:
    from benchmarks.emails import CONCURRENCY, LATENCY_SECONDS, measure_emails

    print("figure 4: welcome emails, one at a time against EMAIL_CONCURRENCY", flush=True)
    figures = measure_emails(
        serial_records=plan.email_serial_records, concurrent_records=plan.email_records
    )
    report.add(
        Row(
            f"4. Welcome emails, {figures.concurrent_emails:,} INSERTs, "
            f"EMAIL_CONCURRENCY={CONCURRENCY}",
            f"{figures.concurrent_rate:,.0f} emails/s",
            f"one at a time {figures.serial_rate:,.1f} emails/s",
            figures.speedup,
            8,
            at_least=True,
        )
    )
    once = "exactly once each" if figures.each_once else "NOT exactly once each (a defect)"
    report.section(
        "4. Welcome emails at the same time",
        f"""
A local SES stand-in (HTTP on 127.0.0.1, the SES query API's `SendEmail`, every answer after
{LATENCY_SECONDS * 1000:.0f} ms) reached through the app's real path: `UsersStream` with the
real `SesEmailSender` on a real boto3 client. One at a time (`EMAIL_CONCURRENCY=1`):
{figures.serial_emails} emails in {figures.serial_seconds:.2f} s; with
`EMAIL_CONCURRENCY={CONCURRENCY}`: {figures.concurrent_emails:,} emails in
{figures.concurrent_seconds:.2f} s, at most {figures.most_at_once} requests in flight at once,
delivered {once}. No ledger here (with the DynamoDB ledger its claim and done mark run on the
same worker threads). The batch contract
under concurrency (earliest failure reported, nothing after it reported as handled, each email
once through the ledger, the log as if one record at a time) is proved by
`tests/chalicelib/test_concurrency_contract.py` and `test_concurrency_together.py`.
""",
    )


def run_pipeline(report: Report, plan: Plan) -> None:
    from benchmarks.pipeline import measure_pipeline

    print("figure 6: local pipeline (moto over HTTP -> poller -> handler)", flush=True)
    figures = measure_pipeline(
        records=plan.pipeline_records, latency_samples=plan.pipeline_latency_samples
    )
    for result in figures:
        report.add(
            Row(
                f"6. Local pipeline, {result.handler} handler",
                f"{result.records_per_second:,.0f} records/s",
                f"latency median {result.latency_median_ms:.0f} ms, "
                f"p99 {result.latency_p99_ms:.0f} ms",
            )
        )
    report.section(
        "6. The local pipeline",
        "`benchmarks.pipeline.measure_pipeline`: the embedded emulator (moto over HTTP), the "
        "poller and the handler. " + " ".join(f"`{result.line().strip()}`." for result in figures),
    )
