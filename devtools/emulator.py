"""The embedded AWS emulator: moto's server in this process, on 127.0.0.1 only.

>>> with Emulator() as emulator:                                # doctest: +SKIP
...     stack = emulator.create_stack()                         # infra/users-table.yaml
...     emulator.verify_sender("welcome@example.com")
...     env = emulator.function_environment(stack, "welcome@example.com")

:meth:`Emulator.create_stack` creates ``infra/users-table.yaml`` through the emulator's
CloudFormation API, as ``aws cloudformation deploy`` would, and reports the resources moto's
CloudFormation does not implement (the CloudWatch alarms). moto's gaps are filled elsewhere,
each in one module: its CloudFormation ignores ``TimeToLiveSpecification`` (enabled again by
:mod:`devtools.stacks`), it never deletes expired items (:class:`TtlSweeper`, in
:mod:`devtools.ttl`, does it), and where its DynamoDB stream is unfaithful
:mod:`devtools.moto_fixes` patches it when the emulator starts.

moto keeps its state per process, not per server: two emulators in one process share tables,
queues and sent emails. Tests give every resource a unique name for that reason.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import moto_fixes
from devtools.stacks import absent_resources, stack_resources, unsupported_resources_quiet
from devtools.ttl import TtlSweeper
from infra.deploy_target import tags

__all__ = [
    "DEFAULT_PORT",
    "FAKE_CREDENTIALS",
    "TEMPLATE",
    "Emulator",
    "EmulatorError",
    "SentEmail",
    "Stack",
    "TtlSweeper",
]

DEFAULT_PORT = 8000
TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "users-table.yaml"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class EmulatorError(RuntimeError):
    """The emulator could not start, or a stack could not be created in it."""


@dataclass(frozen=True, slots=True)
class Stack:
    """A stack created in the emulator: its outputs, and what moto could not create."""

    name: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    skipped: Sequence[tuple[str, str]]  # (logical id, resource type) moto does not implement

    @property
    def table_name(self) -> str:
        return self.outputs["TableName"]

    @property
    def stream_arn(self) -> str:
        return self.outputs["StreamArn"]

    @property
    def ledger_table(self) -> str:
        return self.outputs["LedgerTableName"]

    @property
    def queue_url(self) -> str:
        return self.outputs["OnFailureQueueUrl"]

    @property
    def queue_arn(self) -> str:
        return self.outputs["OnFailureQueueArn"]


@dataclass(frozen=True, slots=True)
class SentEmail:
    """An email the emulator's SES accepted."""

    message_id: str
    source: str
    to: tuple[str, ...]
    subject: str
    body: str


def _server_class() -> Any:
    from moto.server import ThreadedMotoServer

    class Server(ThreadedMotoServer):
        """moto's threaded server, but a failed bind raises instead of hanging ``start``."""

        error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as exc:
                self.error = exc
                self._server_ready_event.set()

    return Server


class Emulator:
    """moto's server on ``host``:``port`` (``port=0`` picks a free one), in this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1") -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise EmulatorError(f"the emulator binds a loopback address only, not {host}")
        self.host = host
        self.port = port
        self.region = region
        self._server: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Emulator:
        from devtools.moto_fidelity import install

        install()  # moto gaps in deployments: SAM transform, change sets, mapped functions
        # moto's request handler logs every request through werkzeug's logger: keep errors only.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_fixes.apply()  # where moto's stream is not faithful (see that module)
        server = _server_class()(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        if server.error is not None:
            raise EmulatorError(
                f"cannot listen on {self.host}:{self.port}: {server.error}"
            ) from server.error
        self._server = server
        self.port = int(server.get_host_and_port()[1])
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        inner = getattr(server, "_server", None)
        if inner is not None:
            inner.server_close()  # release the port now, not when garbage collected

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def alive(self) -> bool:
        """True while the server thread serves (False once it died, or was stopped)."""
        thread = getattr(self._server, "_thread", None)
        return thread is not None and thread.is_alive()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise EmulatorError("the emulator is not running")
        return f"http://{self.host}:{self.port}"

    def client(self, service: str, config: Any = None) -> Any:
        """A boto3 client for ``service`` on this emulator, with fake credentials (and
        ``config``, a botocore ``Config``, if given)."""
        import boto3

        session: Any = boto3.session.Session()
        return session.client(
            service,
            config=config,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    # -- the stack --------------------------------------------------------------------------

    def create_stack(
        self,
        name: str = "users-stream-local",
        *,
        template: Path = TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> Stack:
        """Create ``template`` as stack ``name`` through CloudFormation; wait for completion."""
        with unsupported_resources_quiet():  # Stack.skipped names them instead
            return self._create_stack(name, template, parameters, timeout)

    def _create_stack(
        self, name: str, template: Path, parameters: Mapping[str, str] | None, timeout: float
    ) -> Stack:
        cloudformation = self.client("cloudformation")
        body = template.read_text(encoding="utf-8")
        # The local pipeline shows Time to Live expiry, which the stack leaves off by default.
        given = {
            "DeletionProtection": "false",
            "UsersTtlAttributeName": "expires_at",
            **(parameters or {}),
        }
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
            Tags=[  # as the deployment ways tag their stacks
                {"Key": key, "Value": value}
                for key, value in tags(given.get("Stage", "dev")).items()
            ],
        )
        deadline = time.monotonic() + timeout
        while True:
            described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
            status = described["StackStatus"]
            if status == "CREATE_COMPLETE":
                break
            if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                reason = described.get("StackStatusReason", "")
                raise EmulatorError(f"stack {name} ended in {status}: {reason}")
            time.sleep(0.2)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        values = {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])}
        resources = stack_resources(body, name, self.region, values)
        skipped = absent_resources(cloudformation, name, resources)
        return Stack(name, outputs, values, skipped)

    # -- SES --------------------------------------------------------------------------------

    def verify_sender(self, address: str) -> None:
        """Verify ``address`` in the emulator's SES, so that it may send email."""
        self.client("ses").verify_email_identity(EmailAddress=address)

    def sent_emails(self) -> list[SentEmail]:
        """Every email the emulator's SES accepted in this process, oldest first.

        Read from moto's SES backend, the inspection point moto documents for sent messages
        (SES itself has no API that returns sent mail).
        """
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID][self.region]
        emails = []
        for message in list(backend.sent_messages):
            destinations = getattr(message, "destinations", {}) or {}
            to = tuple(address for group in destinations.values() for address in group)
            emails.append(
                SentEmail(
                    message_id=str(message.id),
                    source=str(getattr(message, "source", "")),
                    to=to,
                    subject=str(getattr(message, "subject", "")),
                    body=str(getattr(message, "body", "")),
                )
            )
        return emails

    def function_environment(self, stack: Stack, sender: str) -> dict[str, str]:
        """The environment the function runs with against this emulator and ``stack``."""
        return {
            "USERS_TABLE_STREAM_ARN": stack.stream_arn,
            "WELCOME_EMAIL_SENDER": sender,
            "LEDGER_TABLE": stack.ledger_table,
            "REPORT_BATCH_ITEM_FAILURES": "true",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **FAKE_CREDENTIALS,
        }
