"""The function's role in the packaged stack: enough for every call the function makes, no more.

The calls are not listed by hand: the real handler runs (real boto3 over HTTP to moto, with the
table stack created from infra/users-table.yaml) and every AWS request it sends is recorded.
Each one, plus the stream reads Lambda's event source mapping makes with the same role, must be
allowed by the role's policy, evaluated with the stack's real ARNs; calls outside the stack's
own resources must be denied.
"""

from __future__ import annotations

import fnmatch
import io
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ledger import DynamoDBLedger
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.service import UsersStream
from devtools.stream_events import FakeStream
from infra.cfn import Resolver
from tests.infra.conftest import Packaged, create_table_stack

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+Alarm:UserWarning")

SENDER = "welcome@example.com"
ACCOUNT, REGION = "123456789012", "us-east-1"
Call = tuple[str, str, dict[str, str]]  # IAM action, resource ARN, condition keys


class Stack:
    """The role's policy as CloudFormation would resolve it for one deployment."""

    def __init__(self, template: dict[str, Any], outputs: dict[str, str], **params: str) -> None:
        self.template = template
        self.attributes = {
            ("UsersTable", "Arn"): outputs["TableArn"],
            ("UsersTable", "StreamArn"): outputs["StreamArn"],
            ("LedgerTable", "Arn"): outputs["LedgerTableArn"],
            ("OnFailureQueue", "Arn"): outputs["OnFailureQueueArn"],
        }
        self.log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/fn:*"
        refs = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "FunctionLogGroup": "/fn",
            **{k: str(v.get("Default", "")) for k, v in template["Parameters"].items()},
            **params,
        }
        self.resolver = Resolver(refs, self.attributes, template["Conditions"])

    def allows(self, call: Call) -> bool:
        action, resource, context = call
        role = self.template["Resources"]["DefaultRole"]["Properties"]
        for policy in role["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                resolved = self.resolver.resolve(statement)
                if resolved["Effect"] != "Allow":
                    continue
                actions = as_list(resolved["Action"])
                resources = as_list(resolved["Resource"])
                if action not in actions or not any(
                    fnmatch.fnmatchcase(resource, r) for r in resources
                ):
                    continue
                conditions = resolved.get("Condition", {}).get("StringEquals", {})
                if all(context.get(k) == v for k, v in conditions.items()):
                    return True
        return False


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Recorder:
    """Records each AWS request as (IAM action, resource ARN, condition keys)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self._record)
        return client

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        prefix = model.service_model.signing_name
        action = f"{prefix}:{model.name}"
        if prefix == "dynamodb":
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"
            self.calls.append((action, arn, {}))
        elif prefix == "ses":
            source = params["Source"]
            arn = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{source}"
            self.calls.append((action, arn, {"ses:FromAddress": source}))
        else:
            raise AssertionError(f"the function called an unexpected service: {action}")


@pytest.fixture(scope="module")
def stack(moto_endpoint: str, packaged: Packaged) -> Stack:
    outputs = create_table_stack(moto_endpoint, DeletionProtection="false")
    return Stack(packaged.template(), outputs, WelcomeEmailSender=SENDER)


@pytest.fixture(scope="module")
def function_calls(stack: Stack, moto_endpoint: str) -> list[Call]:
    """Every request the real handler sends while welcoming a user, twice, and failing once."""
    boto3.client("ses", endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
    recorder = Recorder()
    ses = recorder.watch(boto3.client("ses", endpoint_url=moto_endpoint))
    dynamodb = recorder.watch(boto3.client("dynamodb", endpoint_url=moto_endpoint))
    ledger_table = stack.attributes[("LedgerTable", "Arn")].rsplit("/", 1)[1]
    ledger = DynamoDBLedger(ledger_table, client_factory=lambda: dynamodb)
    handler = UsersStream(
        environ={
            "WELCOME_EMAIL_SENDER": SENDER,
            "LEDGER_TABLE": ledger_table,
            "REPORT_BATCH_ITEM_FAILURES": "true",
        },
        sender=SesEmailSender(lambda: ses),
        ledger=ledger,
        log_stream=io.StringIO(),
    )
    stream = FakeStream(stack.attributes[("UsersTable", "StreamArn")])
    insert = stream.insert({"id": "u-1", "email": "ada@example.com", "name": "Ada"})
    for _ in range(2):  # the second delivery finds the ledger entry done: no email
        assert handler.handle(stream.event([insert])) == {"batchItemFailures": []}

    def failing_send() -> str:
        raise RuntimeError("SES unavailable")

    with pytest.raises(RuntimeError):  # a failed side effect releases its claim
        ledger.once("welcome#u-2", failing_send)
    return recorder.calls


def test_the_handler_was_observed_sending_email_and_using_the_ledger(function_calls):
    actions = {action for action, _, _ in function_calls}
    assert {"ses:SendEmail", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    assert "dynamodb:DeleteItem" in actions


def test_role_allows_every_call_the_function_makes(stack, function_calls):
    assert [call for call in function_calls if not stack.allows(call)] == []


def test_role_allows_the_stream_reads_and_on_failure_sends_of_the_event_source_mapping(stack):
    stream = stack.attributes[("UsersTable", "StreamArn")]
    for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
        assert stack.allows((f"dynamodb:{action}", stream, {}))
    queue = stack.attributes[("OnFailureQueue", "Arn")]
    assert stack.allows(("sqs:SendMessage", queue, {}))
    log_group = stack.log_group
    assert stack.allows(("logs:PutLogEvents", log_group.replace(":*", ":log-stream:x"), {}))


@pytest.mark.parametrize(
    "call",
    [
        ("dynamodb:PutItem", "{UsersTable}", {}),  # the function never writes users
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/Other", {}),
        ("dynamodb:Scan", "{LedgerTable}", {}),
        ("dynamodb:GetRecords", "arn:aws:dynamodb:us-east-1:123456789012:table/O/stream/1", {}),
        ("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/x@evil.test", {}),
        (
            "ses:SendEmail",
            f"arn:aws:ses:us-east-1:123456789012:identity/{SENDER}",
            {"ses:FromAddress": "someone-else@example.com"},
        ),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:other", {}),
        ("logs:CreateLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:x", {}),
    ],
)
def test_role_denies_everything_outside_the_stack(stack, call):
    action, resource, context = call
    resource = resource.replace("{UsersTable}", stack.attributes[("UsersTable", "Arn")])
    resource = resource.replace("{LedgerTable}", stack.attributes[("LedgerTable", "Arn")])
    assert not stack.allows((action, resource, context))


def test_a_domain_identity_lets_any_address_of_the_domain_send_only_as_the_sender(stack, packaged):
    outputs = {
        "TableArn": stack.attributes[("UsersTable", "Arn")],
        "StreamArn": stack.attributes[("UsersTable", "StreamArn")],
        "LedgerTableArn": stack.attributes[("LedgerTable", "Arn")],
        "OnFailureQueueArn": stack.attributes[("OnFailureQueue", "Arn")],
    }
    domain = Stack(
        packaged.template(), outputs, WelcomeEmailSender=SENDER, SesIdentity="example.com"
    )
    identity = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    assert domain.allows(("ses:SendEmail", identity, {"ses:FromAddress": SENDER}))
    assert not domain.allows(("ses:SendEmail", identity, {"ses:FromAddress": "x@example.com"}))


def test_no_statement_grants_a_wildcard_action_or_resource(packaged):
    role = packaged.template()["Resources"]["DefaultRole"]["Properties"]
    assert [p["PolicyName"] for p in role["Policies"]] == ["users-stream-consumer"]
    assert "ManagedPolicyArns" not in role
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]:
        assert all("*" not in action for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                # ListStreams has no resource-level permission (Service Authorization
                # Reference for DynamoDB): "*" is the only resource it takes.
                assert statement["Action"] == "dynamodb:ListStreams"
                continue
            # Any wildcard sits under one of this stack's own resources.
            assert not isinstance(resource, str)
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
