"""What runs a replayed batch, and which streams it may replay: the deployed function through
Lambda's Invoke API, or the handler here."""

from __future__ import annotations

from typing import Any

from devtools.replay import FAILED, DeployedFunction, LocalHandler, Replayer
from tests.devtools.conftest import Recorder, ids_of
from tests.devtools.replaying import LocalLambda, config_for, fail_ids, give_up_on, peek


def test_the_deployed_function_is_invoked_with_the_range(table, make_poller):
    give_up_on(table, make_poller, 6, "u2", "u4")
    handler = Recorder()
    function = LocalLambda(handler, mapped=(table.stream_arn,))
    summary = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(function, "users-stream-dev-handle_user_changes"),
    ).run()
    assert summary.replayed == 1
    assert [ids_of(e) for e in handler.events] == [["u2", "u3", "u4"]]
    assert function.calls == [
        {
            "FunctionName": "users-stream-dev-handle_user_changes",
            "InvocationType": "RequestResponse",
        }
    ]


def test_a_deployed_function_error_or_reported_failure_keeps_the_message(table, make_poller):
    give_up_on(table, make_poller, 3, "u1")

    def explode(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    broken = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(LocalLambda(explode, mapped=(table.stream_arn,)), "f"),
        attempts=1,
    ).run()
    assert "Unhandled" in broken.results[0].detail
    assert "boom" in broken.results[0].detail

    reported = Replayer(
        sqs=table.emulator.client("sqs"),
        queue_url=table.queue_url,
        streams=table.emulator.client("dynamodbstreams"),
        run_batch=DeployedFunction(
            LocalLambda(Recorder(fail_ids("u2")), mapped=(table.stream_arn,)), "f"
        ),
        attempts=1,
    ).run()
    assert reported.results[0].status == FAILED
    assert reported.results[0].handled == 1  # u1 handled, u2 reported failed
    assert len(peek(table)) == 1


def test_the_users_stream_comes_from_the_setting_or_the_functions_mapping(table):
    from devtools.replay import expected_streams

    mapped = "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2024-01-01T00:00:00.000"
    local = LocalHandler(Recorder(), config_for(table))
    deployed = DeployedFunction(LocalLambda(Recorder(), mapped=(mapped,)), "f")
    unmapped = DeployedFunction(LocalLambda(Recorder()), "f")

    assert expected_streams(local, {}) == {table.stream_arn}
    assert expected_streams(deployed, {}) == {mapped}
    assert expected_streams(unmapped, {"USERS_TABLE_STREAM_ARN": "arn:x"}) == {"arn:x"}
    assert expected_streams(unmapped, {}) == frozenset()
