"""Mapping settings: discovered from the Chalice app, read from the deployment's template."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from chalice.app import Chalice

from devtools.pipeline import MappingConfig, discover
from devtools.pipeline.mapping import checkpoint_key, function_arn, settings_from_template
from devtools.stream_events import FakeStream

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000"


def test_the_apps_stream_handler_is_discovered_with_its_settings():
    app_module = importlib.import_module("app")
    [found] = discover(app_module.app, stream_arn=ARN, report_batch_item_failures=True)
    assert found.name == "handle_user_changes"
    assert found.handler_string == "app.handle_user_changes"
    assert found.handler is app_module.handle_user_changes
    config = found.config
    assert config.function_name == "users-stream-dev-handle_user_changes"
    assert config.stream_arn == ARN
    assert config.batch_size == app_module.stream.batch_size
    assert config.batching_window_seconds == app_module.stream.batching_window
    assert config.starting_position == app_module.stream.starting_position
    assert config.report_batch_item_failures is True


probe_app = Chalice(app_name="probe")
probe_seen: list[list[str]] = []


@probe_app.on_dynamodb_record(stream_arn=ARN, batch_size=7, starting_position="TRIM_HORIZON")
def probe(event):
    probe_seen.append([r.sequence_number for r in event])
    return {"batchItemFailures": []}


def test_the_discovered_handler_is_called_as_lambda_calls_it():
    [found] = discover(probe_app, stage="prod", module=sys.modules[__name__])
    assert found.handler_string == "app.probe"  # what Chalice says for any app module
    assert found.config.function_name == "probe-prod-probe"
    assert found.config.batch_size == 7
    assert found.config.starting_position == "TRIM_HORIZON"
    record = FakeStream(ARN, view_type="KEYS_ONLY").insert({"id": "u1"})
    assert found.handler(FakeStream.event([record]), None) == {"batchItemFailures": []}
    assert probe_seen == [[record["dynamodb"]["SequenceNumber"]]]


def test_settings_come_from_the_deployed_mapping_in_infra():
    settings = settings_from_template(ROOT / "infra" / "consumer.yaml")
    assert settings["report_batch_item_failures"] is True
    assert settings["bisect_batch_on_function_error"] is True
    assert 0 <= settings["maximum_retry_attempts"] <= 10_000
    assert 60 <= settings["maximum_record_age_seconds"] <= 86_400
    config = MappingConfig(function_name="f", stream_arn=ARN).with_overrides(**settings)
    assert config.maximum_retry_attempts == settings["maximum_retry_attempts"]


def test_a_template_without_a_stream_event_is_refused(tmp_path):
    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n  HandleUserChanges:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      Events: {}\n"
    )
    with pytest.raises(ValueError, match="no DynamoDB stream event"):
        settings_from_template(template)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_001}, "batch_size"),
        ({"batching_window_seconds": 301}, "batching_window"),
        ({"starting_position": "AT_TIMESTAMP"}, "starting_position"),
        ({"maximum_retry_attempts": -2}, "maximum_retry_attempts"),
        ({"maximum_record_age_seconds": 59}, "maximum_record_age_seconds"),
        ({"stream_arn": "Users"}, "not an ARN"),
    ],
)
def test_settings_outside_lambdas_limits_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        MappingConfig(**{"function_name": "f", "stream_arn": ARN, **changes})


def test_backoff_doubles_up_to_its_cap():
    config = MappingConfig(
        function_name="f", stream_arn=ARN, retry_backoff_seconds=1, retry_backoff_max_seconds=5
    )
    assert [config.backoff(n) for n in range(5)] == [0.0, 1.0, 2.0, 4.0, 5.0]


def test_names_derived_from_the_mapping():
    config = MappingConfig(function_name="users-stream-dev-h", stream_arn=ARN)
    assert (
        function_arn(config) == "arn:aws:lambda:us-east-1:123456789012:function:users-stream-dev-h"
    )
    assert checkpoint_key(config) == f"users-stream-dev-h|{ARN}"
