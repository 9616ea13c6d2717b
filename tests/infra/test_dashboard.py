"""The dashboard and the alarms on the app's own metrics.

The dashboard body is checked against CloudWatch's "Dashboard Body Structure and Syntax"
reference (widget types, the 24-column grid, metric arrays), and every metric it or an alarm
names must be one the app really writes (read from an EMF line the app wrote) or one AWS
publishes: the AWS/Lambda and AWS/SQS names below are copied from the Lambda Developer Guide
("Types of metrics for Lambda functions") and the SQS Developer Guide ("Available CloudWatch
metrics for Amazon SQS"), not from the template.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from chalicelib.service import UsersStream
from devtools.stream_events import FakeStream
from infra.cfn import load_template
from infra.dashboard import DASHBOARD, body, body_template, variables
from tests.infra.conftest import TABLE_TEMPLATE, Packaged

AWS_PUBLISHED = {
    "AWS/Lambda": {
        "metrics": {
            "Invocations", "Errors", "DeadLetterErrors", "DestinationDeliveryFailures",
            "Throttles", "OversizedRecordCount", "ProvisionedConcurrencyInvocations",
            "ProvisionedConcurrencySpilloverInvocations", "RecursiveInvocationsDropped",
            "Duration", "PostRuntimeExtensionsDuration", "IteratorAge",
            "OffsetLag", "ConcurrentExecutions", "UnreservedConcurrentExecutions",
            "ProvisionedConcurrentExecutions", "ProvisionedConcurrencyUtilization",
            "AsyncEventsReceived", "AsyncEventAge", "AsyncEventsDropped",
        },
        "dimensions": {"FunctionName", "Resource", "ExecutedVersion"},
    },
    "AWS/SQS": {
        "metrics": {
            "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesVisible",
            "NumberOfEmptyReceives", "NumberOfDeduplicatedSentMessages",
            "NumberOfMessagesDeleted", "NumberOfMessagesReceived", "NumberOfMessagesSent",
            "SentMessageSize",
        },
        "dimensions": {"QueueName"},
    },
}  # fmt: skip
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
GRID_COLUMNS = 24
APP_NAMESPACE = "UsersStream"
LOCAL = {
    "AWS::Region": "us-east-1",
    "Function": "users-stream-dev-handle_user_changes",
    "Namespace": APP_NAMESPACE,
    "Stage": "dev",
    "Queue": "users-stream-OnFailureQueue",
}


@pytest.fixture(scope="module")
def emitted() -> dict[str, Any]:
    """What the app writes: the metric names and dimension keys of one of its EMF lines."""
    out = io.StringIO()
    stream = FakeStream()
    environ = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}
    service = UsersStream(environ=environ, log_stream=io.StringIO(), metrics_stream=out)
    service.handle(stream.event([stream.modify({"id": "u1"}, {"id": "u1", "n": 1})]))
    (directive,) = json.loads(out.getvalue())["_aws"]["CloudWatchMetrics"]
    return {
        "metrics": {metric["Name"] for metric in directive["Metrics"]},
        "dimensions": set(directive["Dimensions"][0]),
    }


def widgets() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = body(LOCAL)["widgets"]
    return found


def metric_rows() -> list[list[Any]]:
    return [row for w in widgets() for row in w["properties"].get("metrics", [])]


def test_every_variable_is_given_a_value_by_the_template_or_cloudformation() -> None:
    template = load_template(TABLE_TEMPLATE)
    text, mapping = body_template(template)
    known = set(mapping) | set(template["Parameters"]) | {"AWS::Region"}
    assert variables(text) <= known
    assert set(mapping) <= variables(text)  # no variable defined for nothing


def test_widgets_are_of_documented_types_inside_the_grid_and_never_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for widget in widgets():
        assert widget["type"] in WIDGET_TYPES
        x, y, width, height = (widget[k] for k in ("x", "y", "width", "height"))
        assert all(type(v) is int for v in (x, y, width, height))
        assert min(x, y) >= 0
        assert 1 <= width <= GRID_COLUMNS
        assert 1 <= height <= 1000
        assert x + width <= GRID_COLUMNS
        cells = {(x + i, y + j) for i in range(width) for j in range(height)}
        assert not cells & taken, widget["properties"]["title"]
        taken |= cells


def test_metric_widgets_are_complete() -> None:
    for widget in widgets():
        properties = widget["properties"]
        assert properties["region"] == "us-east-1"
        assert properties["view"] in VIEWS
        assert properties["title"]
        assert properties["period"] % 60 == 0
        assert properties["metrics"]


def test_each_metric_row_is_namespace_name_dimension_pairs_and_options() -> None:
    for row in metric_rows():
        *names, options = row
        assert type(options) is dict
        assert options["stat"] in STATISTICS
        assert all(type(part) is str and part for part in names)
        assert len(names) % 2 == 0, row  # namespace, name, then name/value pairs


def test_every_metric_is_one_the_app_writes_or_aws_publishes(emitted: dict[str, Any]) -> None:
    for row in metric_rows():
        namespace, name, *pairs = row[:-1]
        dimensions = set(pairs[::2])
        source = emitted if namespace == APP_NAMESPACE else AWS_PUBLISHED[namespace]
        assert name in source["metrics"], row
        if namespace == APP_NAMESPACE:  # CloudWatch matches a dimension set exactly
            assert dimensions == source["dimensions"], row
        else:
            assert dimensions <= source["dimensions"], row


def test_the_dashboard_shows_every_panel_the_operators_need() -> None:
    named = {row[1] for row in metric_rows()}
    assert {
        "IteratorAge", "Invocations", "Errors", "Throttles", "Duration", "StreamLag",
        "RecordsInsert", "RecordsModify", "RecordsRemove", "RecordsTtlExpiry",
        "WelcomeEmailsSent", "WelcomeEmailsSkipped", "WelcomeEmailsRejected",
        "WelcomeEmailsDuplicate", "ApproximateNumberOfMessagesVisible",
    } <= named  # fmt: skip


APP_ALARMS = {
    "WelcomeEmailsRejectedAlarm": "WelcomeEmailsRejected",
    "RecordsFailedAlarm": "RecordsFailed",
    "StreamLagAlarm": "StreamLag",
    "LedgerClaimsLostAlarm": "LedgerClaimsLost",
}


def test_the_app_alarms_watch_what_the_app_writes_and_notify_the_topic(
    emitted: dict[str, Any],
) -> None:
    resources = load_template(TABLE_TEMPLATE)["Resources"]
    reference = resources["ErrorsAlarm"]["Properties"]["AlarmActions"]
    for name, metric in APP_ALARMS.items():
        alarm = resources[name]["Properties"]
        assert alarm["MetricName"] == metric
        assert metric in emitted["metrics"]
        assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}
        assert {d["Name"] for d in alarm["Dimensions"]} == emitted["dimensions"]
        assert alarm["AlarmActions"] == reference == alarm["OKActions"]
        assert 20 < len(alarm["AlarmDescription"]) < 300  # a runbook line, not an essay


def test_the_rejected_alarm_fires_on_the_first_rejection() -> None:
    alarm = load_template(TABLE_TEMPLATE)["Resources"]["WelcomeEmailsRejectedAlarm"]
    properties = alarm["Properties"]
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )


def test_the_one_stack_binds_the_dashboard_and_alarms_to_its_function(packaged: Packaged) -> None:
    template = packaged.template()
    resources = template["Resources"]
    _, mapping = body_template(template)
    assert mapping["Function"] == {"Ref": "HandleUserChanges"}
    assert resources[DASHBOARD]["Type"] == "AWS::CloudWatch::Dashboard"
    for name in APP_ALARMS:
        dimensions = {d["Name"]: d["Value"] for d in resources[name]["Properties"]["Dimensions"]}
        assert dimensions == {
            "FunctionName": {"Ref": "HandleUserChanges"},
            "Stage": {"Ref": "Stage"},
        }
    variables_ = resources["HandleUserChanges"]["Properties"]["Environment"]["Variables"]
    assert variables_["METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert variables_["STAGE"] == {"Ref": "Stage"}
