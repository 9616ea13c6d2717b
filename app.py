"""users-stream: react to every change of the Users table, through its DynamoDB stream.

This file is configuration and wiring only; the behaviour lives in ``chalicelib``.
"""

from __future__ import annotations

import os
import sys

from chalice.app import Chalice, DynamoDBEvent

from chalicelib.contract import BatchResponse
from chalicelib.service import UsersStream
from chalicelib.settings import StreamSettings, refuse_placeholder_deploy

app = Chalice(app_name="users-stream")

# Read at import because Chalice registers the event source then. Unset, it falls back to a
# documented placeholder ARN so that tests and `chalice package` can import the app.
stream = StreamSettings.from_environ(os.environ)
refuse_placeholder_deploy(stream, sys.argv)  # a bare `chalice deploy` before the table exists

# One instance per Lambda container: the settings are read at the first invocation, and the SES
# client and the ledger made on first use; warm invocations reuse them all.
users_stream = UsersStream()


@app.on_dynamodb_record(
    stream_arn=stream.stream_arn,
    batch_size=stream.batch_size,
    starting_position=stream.starting_position,
    maximum_batching_window_in_seconds=stream.batching_window,
)
def handle_user_changes(event: DynamoDBEvent) -> BatchResponse:
    """Log every change and welcome every new user; see ``chalicelib.contract`` for the contract."""
    return users_stream.handle(event.to_dict(), event.context)
