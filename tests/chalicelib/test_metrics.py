"""The invocation's EMF line: valid by the specification's rules (tests/emf_spec.py, not the
writer), agreeing with Powertools' writer and botocore's PutMetricData model, and counting what
the batch really did: through Chalice's test client and through UsersStream."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.metrics import Metrics
from botocore.session import get_session
from botocore.validate import ParamValidator
from chalice.test import Client

from chalicelib.errors import PermanentEmailError
from chalicelib.logline import render
from chalicelib.metrics import COUNTS, emf_line, metric_values, metrics_settings
from chalicelib.records import Change
from chalicelib.runner import Outcomes
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage
from devtools.stream_events import FakeStream
from tests.apps import fresh_app
from tests.chalicelib.conftest import BASE_ENV, ClaimHeldLedger, open_ses_outbox
from tests.emf_spec import violations

ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}
NO_EMAIL = {"id": "u2", "name": "Bo"}
DIMENSIONS = {"FunctionName": "users-stream-dev-handle_user_changes", "Stage": "dev"}


def good_line(**changes: Any) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": 1_764_547_200_000,
            "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [["Stage"]], "Metrics": [{"Name": "M"}]}
            ],
        },
        "Stage": "dev",
        "M": 1,
        **changes,
    }


BROKEN: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("no _aws", lambda d: d.pop("_aws")),
    ("seconds", lambda d: d["_aws"].update(Timestamp=1_764_547_200)),
    ("no target member", lambda d: d.pop("M")),
    ("no dimension member", lambda d: d.pop("Stage")),
    ("text value", lambda d: d.update(M="1")),
    ("unknown unit", lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="ms")),
    (
        "101 metrics",
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(
            Metrics=[{"Name": f"M{i}"} for i in range(101)]
        ),
    ),
    (
        "31 dimensions",
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(
            Dimensions=[[f"D{i}" for i in range(31)]]
        ),
    ),
    ("namespace starts with :", lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace=":")),
]


def test_the_checker_accepts_the_specifications_shape() -> None:
    assert violations(json.dumps(good_line())) == []


@pytest.mark.parametrize(("why", "breaks"), BROKEN, ids=[why for why, _ in BROKEN])
def test_the_checker_refuses_what_the_specification_forbids(
    why: str, breaks: Callable[[dict[str, Any]], object]
) -> None:
    document = good_line()
    breaks(document)
    assert violations(json.dumps(document)) != [], why


def test_the_checker_refuses_text_around_the_object() -> None:
    assert violations("METRICS " + json.dumps(good_line())) != []


def line_of(values: dict[str, float]) -> str:
    return emf_line(values, "UsersStream", DIMENSIONS, 1796124603094)


def every_metric() -> dict[str, float]:
    return {**{name: i for i, name in enumerate(COUNTS)}, "StreamLag": 12.5, "HandlerDuration": 3}


def test_the_line_is_valid_by_the_specification() -> None:
    assert violations(line_of(every_metric())) == []


def test_powertools_writes_the_same_metrics() -> None:
    """The same values through Powertools Metrics: the same namespace, dimensions, units."""
    ours = json.loads(line_of(every_metric()))
    theirs = Metrics(namespace="UsersStream")
    theirs.add_dimensions(**DIMENSIONS)
    for definition in ours["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
        theirs.add_metric(definition["Name"], definition["Unit"], ours[definition["Name"]])
    powertools: dict[str, Any] = dict(theirs.serialize_metric_set())

    def meaning(document: dict[str, Any]) -> dict[str, Any]:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        values = {
            m["Name"]: (
                m["Unit"],
                [float(v) for v in (lambda x: x if type(x) is list else [x])(document[m["Name"]])],
            )
            for m in directive["Metrics"]
        }
        dimensions = {k: document[k] for s in directive["Dimensions"] for k in s}
        return {"namespace": directive["Namespace"], "dims": dimensions, "values": values}

    assert meaning(ours) == meaning(powertools)


def test_botocore_accepts_the_metrics_as_put_metric_data() -> None:
    """Each metric as the PutMetricData request it stands for, validated by AWS's model."""
    document = json.loads(line_of(every_metric()))
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    data = [
        {
            "MetricName": m["Name"],
            "Unit": m["Unit"],
            "Value": float(document[m["Name"]]),
            "Dimensions": [{"Name": k, "Value": document[k]} for k in directive["Dimensions"][0]],
        }
        for m in directive["Metrics"]
    ]
    model = get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
    assert model.input_shape is not None
    report = ParamValidator().validate(
        {"Namespace": directive["Namespace"], "MetricData": data}, model.input_shape
    )
    assert not report.has_errors(), report.generate_report()


def emf_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_a_batch_through_chalices_test_client_prints_a_valid_line_with_its_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = FakeStream()
    renamed = {**ADA, "name": "Ada L."}
    records = [
        stream.insert(ADA),
        stream.insert(NO_EMAIL),
        stream.modify(ADA, renamed),
        stream.remove(NO_EMAIL),
        stream.ttl_expiry(renamed),
    ]
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = 1_700_000_000
    with open_ses_outbox() as ses, Client(fresh_app().app, stage_name="dev") as client:
        ses.client.verify_email_identity(EmailAddress="welcome@example.com")
        payload = client.lambda_.invoke("handle_user_changes", stream.event(records)).payload

    assert payload == {"batchItemFailures": []}
    output = capsys.readouterr().out
    (line,) = [raw for raw in output.splitlines() if raw.startswith('{"_aws"')]
    assert violations(line) == []
    (document,) = emf_lines(output)
    assert {name: document[name] for name in COUNTS} == {
        "RecordsInsert": 2,
        "RecordsModify": 1,
        "RecordsRemove": 1,
        "RecordsTtlExpiry": 1,
        "RecordsFailed": 0,
        "RecordsReported": 0,
        "WelcomeEmailsSent": 1,
        "WelcomeEmailsSkipped": 1,
        "WelcomeEmailsRejected": 0,
        "WelcomeEmailsDuplicate": 0,
        "LedgerClaimsLost": 0,
    }
    assert document["StreamLag"] > 1_000 * (1_764_547_200 - 1_700_000_000)  # from the oldest
    assert 0 < document["HandlerDuration"] < 60_000
    assert document["Stage"] == "dev"
    assert document["FunctionName"] == "handle_user_changes"  # the test client's context
    assert document["message"] == "metrics"
    # Correlation: every line of the invocation carries its request id.
    lines = [json.loads(raw) for raw in output.splitlines() if raw.startswith("{")]
    assert len(lines) == 8  # five changes, an email sent, one skipped, the metrics
    assert {line.get("request_id") for line in lines} == {document["request_id"]}
    assert document["request_id"]


class Rejecting:
    def send(self, message: EmailMessage) -> str:
        raise PermanentEmailError("MessageRejected: address blacklisted")


class Done:
    def once(self, key: str, action: Callable[[], str]) -> str | None:
        return None


def run(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    out = io.StringIO()
    env = {**BASE_ENV, "REPORT_BATCH_ITEM_FAILURES": "true", "STAGE": "prod"}
    service = UsersStream(environ=env, log_stream=io.StringIO(), metrics_stream=out, **kwargs)
    with contextlib.suppress(Exception):  # the whole batch failed: the line is still written
        service.handle(event)
    (line,) = out.getvalue().splitlines()
    assert violations(line) == []
    document: dict[str, Any] = json.loads(line)
    return document


def test_rejected_and_duplicate_emails_are_counted() -> None:
    stream = FakeStream()
    rejected = run(stream.event([stream.insert(ADA)]), sender=Rejecting())
    duplicate = run(stream.event([stream.insert(ADA)]), sender=Rejecting(), ledger=Done())
    assert (rejected["WelcomeEmailsRejected"], rejected["RecordsFailed"]) == (1, 0)
    assert (duplicate["WelcomeEmailsDuplicate"], duplicate["WelcomeEmailsRejected"]) == (1, 0)
    assert rejected["Stage"] == "prod"


def test_a_lost_claim_is_a_failed_reported_record_and_counts_nothing_after_it() -> None:
    stream = FakeStream()
    event = stream.event([stream.modify(ADA, ADA), stream.insert(ADA), stream.insert(NO_EMAIL)])
    document = run(event, sender=Rejecting(), ledger=ClaimHeldLedger())
    assert document["LedgerClaimsLost"] == 1
    assert (document["RecordsFailed"], document["RecordsReported"]) == (1, 1)
    assert (document["RecordsModify"], document["RecordsInsert"]) == (1, 0)
    assert document["WelcomeEmailsSkipped"] == 0  # the record after the failure: dropped


def test_a_failure_that_cannot_be_reported_fails_the_batch_and_is_counted() -> None:
    stream = FakeStream()
    record = stream.insert(ADA)
    del record["dynamodb"]["SequenceNumber"]
    document = run(stream.event([stream.modify(ADA, ADA), record]))
    assert (document["RecordsFailed"], document["RecordsReported"]) == (1, 0)
    assert document["RecordsModify"] == 1


@pytest.mark.parametrize(
    "event", [{}, {"Records": "x"}, {"Records": [1, {"dynamodb": []}, {"eventName": 3}]}]
)
def test_a_forged_event_still_gets_a_valid_line(event: dict[str, Any]) -> None:
    document = run(event)
    assert "StreamLag" not in document
    assert document["RecordsFailed"] == 1


def test_the_oldest_record_sets_the_lag_and_a_future_one_never_makes_it_negative() -> None:
    stream = FakeStream()
    records = [stream.modify(ADA, ADA), stream.modify(ADA, ADA)]
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = 1_000.0
    records[1]["dynamodb"]["ApproximateCreationDateTime"] = 990
    both, first = Outcomes(), Outcomes()
    for index, raw in enumerate(records):
        both.handled(Change(raw, index), None)
    first.handled(Change(records[0], 0), None)
    assert metric_values(both, 1_000.5)["StreamLag"] == 10_500
    assert metric_values(first, 999.0)["StreamLag"] == 0


def test_the_namespace_and_stage_are_settings() -> None:
    assert metrics_settings({}) == ("UsersStream", "dev")
    assert metrics_settings({"METRICS_NAMESPACE": "Acme/Users", "STAGE": "prod"}) == (
        "Acme/Users",
        "prod",
    )
    with pytest.raises(Exception, match="METRICS_NAMESPACE"):
        metrics_settings({"METRICS_NAMESPACE": "AWS/Lambda"})


def test_an_over_long_line_keeps_its_request_id() -> None:
    entry = {"level": "INFO", "message": "change", "big": "x" * 300_000, "request_id": "r-1"}
    cut = json.loads(render(entry, lambda text: text))
    assert cut["big"].startswith("<cut:")
    assert cut["request_id"] == "r-1"
