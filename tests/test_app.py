"""The real app through Chalice's test client: stage settings from .chalice/config.json (set
only during an invoke), both failure-reporting paths, the placeholder stream ARN, and no boto3
for a batch that sends no email."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.errors import BatchFailedError
from chalicelib.settings import PLACEHOLDER_STREAM_ARN
from devtools.stream_events import FakeStream
from tests.apps import fresh_app
from tests.chalicelib.conftest import open_ses_outbox

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGE_SENDER = CONFIG["stages"]["dev"]["environment_variables"]["WELCOME_EMAIL_SENDER"]
ADA = {"id": "u1", "email": "ada@example.com", "name": "Ada"}


def project_with(tmp_path: Path, **env: str) -> Path:
    """A copy of the project's Chalice config with extra app-wide environment variables."""
    config = json.loads(json.dumps(CONFIG))
    config["environment_variables"].update(env)
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    return tmp_path


def invoke(event: dict[str, Any], project_dir: Path = ROOT, stage: str = "dev") -> Any:
    """``event`` through a fresh import of the app: a new container, which reads the settings
    of ``stage`` at its first invocation and keeps them."""
    fresh = fresh_app()
    with Client(fresh.app, stage_name=stage, project_dir=str(project_dir)) as client:
        return client.lambda_.invoke("handle_user_changes", event).payload


def change_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line["message"] in ("change", "ttl_expiry")]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_clean_batch(stage: str, capsys: pytest.CaptureFixture[str]) -> None:
    stream = FakeStream()
    later = {**ADA, "name": "Ada L."}
    event = stream.event([stream.modify(ADA, later), stream.ttl_expiry(later)])

    assert invoke(event, stage=stage) == {"batchItemFailures": []}
    lines = change_lines(capsys.readouterr().out)
    assert [(line["event"], line["message"]) for line in lines] == [
        ("MODIFY", "change"),
        ("REMOVE", "ttl_expiry"),
    ]
    assert lines[0]["new_image"]["name"] == "***"


def test_stage_settings_apply_during_the_invoke_only() -> None:
    stream = FakeStream()
    assert "WELCOME_EMAIL_SENDER" not in os.environ

    with open_ses_outbox() as ses:
        ses.client.verify_email_identity(EmailAddress=STAGE_SENDER)
        payload = invoke(stream.event([stream.insert(ADA)]))
        sent = ses.sent()

    assert payload == {"batchItemFailures": []}
    assert [(m.source, m.destinations["ToAddresses"]) for m in sent] == [
        (STAGE_SENDER, ["ada@example.com"])
    ]
    assert "WELCOME_EMAIL_SENDER" not in os.environ


def test_with_reporting_the_first_failing_record_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = FakeStream()
    event = stream.event([stream.insert({"id": f"u{i}"}) for i in range(4)])
    event["Records"][2]["dynamodb"]["NewImage"]["id"] = {"B": "not base64!"}

    payload = invoke(event, project_with(tmp_path, REPORT_BATCH_ITEM_FAILURES="true"))

    failing = event["Records"][2]["dynamodb"]["SequenceNumber"]
    assert payload == {"batchItemFailures": [{"itemIdentifier": failing}]}
    handled = [line["keys"]["id"] for line in change_lines(capsys.readouterr().out)]
    assert handled == ["u0", "u1"]


def test_without_reporting_the_batch_fails_naming_the_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert CONFIG["environment_variables"]["REPORT_BATCH_ITEM_FAILURES"] == "false"
    stream = FakeStream()
    event = stream.event([stream.insert({"id": f"u{i}"}) for i in range(3)])
    failing = event["Records"][1]
    failing["dynamodb"]["NewImage"]["age"] = {"N": "1_000"}

    with pytest.raises(BatchFailedError) as caught:
        invoke(event)

    message = str(caught.value)
    assert failing["dynamodb"]["SequenceNumber"] in message
    assert failing["eventID"] in message
    assert "field dynamodb.NewImage.age" in message
    assert [line["keys"]["id"] for line in change_lines(capsys.readouterr().out)] == ["u0"]


def test_a_record_without_a_sequence_number_fails_the_batch_even_with_reporting(
    tmp_path: Path,
) -> None:
    stream = FakeStream()
    event = stream.event([stream.remove({"id": "u1"})])
    del event["Records"][0]["dynamodb"]["SequenceNumber"]

    with pytest.raises(BatchFailedError, match=r"dynamodb\.SequenceNumber"):
        invoke(event, project_with(tmp_path, REPORT_BATCH_ITEM_FAILURES="true"))


# --- import-time settings ------------------------------------------------------------------------


def test_without_a_stream_arn_the_documented_placeholder_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("USERS_TABLE_STREAM_ARN", raising=False)

    (source,) = fresh_app().app.event_sources

    assert source.stream_arn == PLACEHOLDER_STREAM_ARN
    assert PLACEHOLDER_STREAM_ARN in (ROOT / "README.md").read_text()
    assert (source.batch_size, source.starting_position) == (100, "LATEST")
    assert source.maximum_batching_window_in_seconds == 0


def test_the_event_source_follows_the_environment_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/Users/stream/2024-05-01T00:00:00.000"
    monkeypatch.setenv("USERS_TABLE_STREAM_ARN", arn)
    monkeypatch.setenv("STREAM_BATCH_SIZE", "25")
    monkeypatch.setenv("STREAM_BATCHING_WINDOW_SECONDS", "3")
    monkeypatch.setenv("STREAM_STARTING_POSITION", "TRIM_HORIZON")

    (source,) = fresh_app().app.event_sources

    assert source.name == "handle_user_changes"
    assert (source.stream_arn, source.batch_size) == (arn, 25)
    assert (source.starting_position, source.maximum_batching_window_in_seconds) == (
        "TRIM_HORIZON",
        3,
    )


NO_EMAIL_BATCH = """
import json, sys
import app
from devtools.stream_events import FakeStream

stream = FakeStream()
user = {"id": "u1", "email": "ada@example.com", "name": "Ada"}
event = stream.event([
    stream.modify(user, {**user, "name": "Ada L."}),
    stream.remove(user),
    stream.ttl_expiry(user),
    stream.insert({"id": "u2", "name": "no email"}),
])
response = app.handle_user_changes(event, None)
loaded = sorted(name for name in ("boto3", "botocore") if name in sys.modules)
print(json.dumps({"response": response, "loaded": loaded}))
"""


def test_a_batch_that_sends_no_email_never_imports_boto3() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST"))}
    env["PYTHONPATH"] = str(ROOT)
    env["WELCOME_EMAIL_SENDER"] = STAGE_SENDER

    result = subprocess.run(
        [sys.executable, "-c", NO_EMAIL_BATCH],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    *log_lines, summary = result.stdout.splitlines()
    assert json.loads(summary) == {"response": {"batchItemFailures": []}, "loaded": []}
    assert len(change_lines("\n".join(log_lines))) == 4
