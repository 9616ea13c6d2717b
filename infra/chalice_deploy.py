"""The `chalice deploy` path: the table stack, then Chalice, then what Chalice cannot configure.

    python -m infra.chalice_deploy deploy --stage dev [--sender welcome@example.com]
    python -m infra.chalice_deploy delete --stage dev --confirm users-stream-dev-tables

``deploy`` runs these steps (see docs/deploy.md):

1. create or update the table stack (infra/users-table.yaml) as ``<app>-<stage>-tables``;
2. write its outputs into the stage of ``.chalice/config.json`` (USERS_TABLE_STREAM_ARN,
   LEDGER_TABLE), together with a least-privilege policy file ``.chalice/policy-<stage>.json``
   (the same statements as the one-stack role in infra/consumer.yaml, with this stage's ARNs)
   and ``autogen_policy: false``; create the function's log group with a retention period;
3. if the stream ARN changed since the last deploy, delete the old event source mapping:
   Chalice compares against its previous deployment and would otherwise keep the old ARN;
4. ``chalice deploy --stage <stage>``;
5. configure the event source mapping through the Lambda API (partial batch responses, bisect,
   finite retries, maximum record age, on-failure queue, parallelization), read it back, and
   only then set the function's REPORT_BATCH_ITEM_FAILURES to true. A later bare
   ``chalice deploy`` resets the variable to the config's ``false``: safe (whole-batch retries),
   and this script sets it again.

``delete`` runs ``chalice delete``, removes the log group, turns deletion protection off and
deletes the table stack (with the tables' data), after ``--confirm <stack name>``.
Every AWS call honours ``--endpoint-url`` (or AWS_ENDPOINT_URL), e.g. a local moto server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.clients import error_code
from devtools import cli
from infra.cfn import load_template
from infra.key_schema import SETTING as KEY_SETTING
from infra.key_schema import users_table_key
from infra.policy import resolved_policy
from infra.preflight import PreflightError, check_identity, check_sender
from infra.staging import stage_project

__all__ = [
    "MappingSettings",
    "Target",
    "configure_mapping",
    "function_policy",
    "main",
]

INFRA = Path(__file__).resolve().parent
TABLE_TEMPLATE = INFRA / "users-table.yaml"
CONSUMER = INFRA / "consumer.yaml"
FUNCTION = "handle_user_changes"  # the handler's name in app.py
REPORT_FLAG = "REPORT_BATCH_ITEM_FAILURES"
SETTLED = ("Enabled", "Disabled")


def _consumer_default(parameter: str) -> int:
    return int(load_template(CONSUMER)["Parameters"][parameter]["Default"])


@dataclass(frozen=True)
class MappingSettings:
    """What the one-stack deployment sets on the mapping; defaults from infra/consumer.yaml."""

    maximum_retry_attempts: int
    maximum_record_age_in_seconds: int
    parallelization_factor: int

    @classmethod
    def defaults(cls) -> MappingSettings:
        return cls(
            _consumer_default("MaximumRetryAttempts"),
            _consumer_default("MaximumRecordAgeInSeconds"),
            _consumer_default("ParallelizationFactor"),
        )


@dataclass(frozen=True)
class Target:
    """One stage of the app in one project directory."""

    project: Path
    stage: str

    @property
    def config_path(self) -> Path:
        return self.project / ".chalice" / "config.json"

    @property
    def policy_file(self) -> str:
        return f"policy-{self.stage}.json"

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8"))
        return loaded

    @property
    def app_name(self) -> str:
        return str(self.config()["app_name"])

    @property
    def function_name(self) -> str:
        return f"{self.app_name}-{self.stage}-{FUNCTION}"

    @property
    def stack_name(self) -> str:
        return f"{self.app_name}-{self.stage}-tables"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def deployed(self, resource_type: str) -> dict[str, Any] | None:
        """Chalice's record of the last deployment of this stage, for one resource type."""
        record = self.project / ".chalice" / "deployed" / f"{self.stage}.json"
        if not record.exists():
            return None
        resources = json.loads(record.read_text(encoding="utf-8"))["resources"]
        found = [r for r in resources if r["resource_type"] == resource_type]
        return dict(found[0]) if found else None


def _say(message: str) -> None:
    print(f"[chalice-deploy] {message}", flush=True)


def _stack_request(target: Target, given: Mapping[str, str], *, update: bool) -> dict[str, Any]:
    """CreateStack/UpdateStack arguments. On an update every parameter not given keeps its
    current value (``UsePreviousValue``), as ``aws cloudformation deploy`` does: otherwise an
    update would put it back to its default, and drop, say, the AlarmEmail topic."""
    template = TABLE_TEMPLATE.read_text(encoding="utf-8")
    values = {"FunctionName": target.function_name, **given}
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": key, "ParameterValue": value} for key, value in values.items()
    ]
    if update:
        parameters += [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in load_template(TABLE_TEMPLATE)["Parameters"]
            if key not in values
        ]
    return {
        "StackName": target.stack_name,
        "TemplateBody": template,
        "Parameters": parameters,
        # The stack's tags reach every resource of it that takes tags.
        "Tags": [{"Key": key, "Value": value} for key, value in tags(target).items()],
    }


def deploy_table_stack(
    cloudformation: Any, target: Target, parameters: Mapping[str, str]
) -> dict[str, str]:
    """Create or update the table stack; return its outputs. Unchanged, it changes nothing."""
    try:
        status = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0][
            "StackStatus"
        ]
    except Exception as exc:
        if error_code(exc) != "ValidationError":
            raise
        status = ""
    if status == "ROLLBACK_COMPLETE":  # a failed first create: CloudFormation updates nothing
        raise cli.Failure(
            f"stack {target.stack_name} is ROLLBACK_COMPLETE from a failed create; see its "
            f"events, delete it (aws cloudformation delete-stack --stack-name "
            f"{target.stack_name}) and deploy again"
        )
    waiter = ""
    if not status:
        _say(f"creating stack {target.stack_name}")
        cloudformation.create_stack(**_stack_request(target, parameters, update=False))
        waiter = "stack_create_complete"
    else:
        _say(f"updating stack {target.stack_name}")
        try:
            cloudformation.update_stack(**_stack_request(target, parameters, update=True))
            waiter = "stack_update_complete"
        except Exception as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            _say(f"stack {target.stack_name}: no changes")
    if waiter:
        cloudformation.get_waiter(waiter).wait(
            StackName=target.stack_name, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
        )
    stack = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def function_policy(
    outputs: Mapping[str, str], target: Target, sender: str, ses_identity: str = ""
) -> dict[str, Any]:
    """The one-stack role's policy (infra/consumer.yaml), resolved for this stage's resources."""
    return resolved_policy(
        outputs, log_group=target.log_group, sender=sender, ses_identity=ses_identity
    )


def configure_stage(
    target: Target, outputs: Mapping[str, str], sender: str, policy: Mapping[str, Any]
) -> None:
    """Point the stage at the table stack's resources, with the least-privilege policy."""
    config = target.config()
    stage = config.setdefault("stages", {}).setdefault(target.stage, {})
    variables = stage.setdefault("environment_variables", {})
    variables["USERS_TABLE_STREAM_ARN"] = outputs["StreamArn"]
    variables["LEDGER_TABLE"] = outputs["LedgerTableName"]
    variables["WELCOME_EMAIL_SENDER"] = sender
    # The metrics' Stage dimension and namespace: what the table stack's alarms and dashboard read.
    variables["STAGE"] = target.stage
    variables["METRICS_NAMESPACE"] = outputs.get("MetricsNamespace", "UsersStream")
    variables[KEY_SETTING] = users_table_key(load_template(TABLE_TEMPLATE))
    # Chalice creates the mapping right after the table stack: from LATEST, changes written in
    # between would never be processed (the one-stack way does the same, infra/consumer.yaml).
    variables["STREAM_STARTING_POSITION"] = "TRIM_HORIZON"
    stage["autogen_policy"] = False
    stage["iam_policy_file"] = target.policy_file
    policy_path = target.project / ".chalice" / target.policy_file
    policy_path.write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")
    target.config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _say(
        f"stage {target.stage}: stream {outputs['StreamArn']}, policy .chalice/{target.policy_file}"
    )


def tags(target: Target) -> dict[str, str]:
    """The tags every resource of the deployment carries (as the stack's, infra/*.yaml)."""
    return {"project": "users-stream", "stage": target.stage}


def ensure_log_group(logs: Any, target: Target, retention_days: int) -> None:
    try:
        logs.create_log_group(logGroupName=target.log_group, tags=tags(target))
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=target.log_group, retentionInDays=retention_days)


def drop_stale_mapping(lambda_client: Any, target: Target, stream_arn: str) -> bool:
    """Delete the mapping Chalice made for an older stream; True if one was deleted."""
    previous = target.deployed("dynamodb_event")
    if previous is None or previous["stream_arn"] == stream_arn:
        return False
    _say(f"stream changed from {previous['stream_arn']}: deleting its event source mapping")
    try:
        lambda_client.delete_event_source_mapping(UUID=previous["event_uuid"])
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    return True


def _wait(
    probe: Callable[[], bool], what: str, timeout: float, sleep: Callable[[float], None]
) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        sleep(2)


def tag_chalice_resources(iam: Any, lambda_client: Any, target: Target) -> None:
    """Tag what Chalice created but does not tag itself: the role and the mapping (the
    function gets its tags from .chalice/config.json)."""
    role = target.deployed("iam_role")
    if role is not None:
        role_name = str(role["role_arn"]).rsplit("/", 1)[1]
        iam.tag_role(
            RoleName=role_name, Tags=[{"Key": k, "Value": v} for k, v in tags(target).items()]
        )
    mapping = target.deployed("dynamodb_event")
    if mapping is not None:
        described = lambda_client.get_event_source_mapping(UUID=mapping["event_uuid"])
        lambda_client.tag_resource(Resource=described["EventSourceMappingArn"], Tags=tags(target))


def configure_mapping(
    lambda_client: Any,
    target: Target,
    queue_arn: str,
    settings: MappingSettings,
    *,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Give Chalice's mapping the one-stack settings, then let the function report failures."""
    deployed = target.deployed("dynamodb_event")
    if deployed is None:
        raise RuntimeError(f"no DynamoDB event source in .chalice/deployed/{target.stage}.json")
    uuid = deployed["event_uuid"]
    lambda_client.update_event_source_mapping(
        UUID=uuid,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=settings.maximum_retry_attempts,
        MaximumRecordAgeInSeconds=settings.maximum_record_age_in_seconds,
        ParallelizationFactor=settings.parallelization_factor,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    _wait(
        lambda: lambda_client.get_event_source_mapping(UUID=uuid)["State"] in SETTLED,
        "the event source mapping update",
        timeout,
        sleep,
    )
    mapping: dict[str, Any] = lambda_client.get_event_source_mapping(UUID=uuid)
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        raise RuntimeError(f"mapping {uuid} does not report batch item failures; flag left false")
    function = lambda_client.get_function_configuration(FunctionName=target.function_name)
    variables = dict(function.get("Environment", {}).get("Variables", {}))
    variables[REPORT_FLAG] = "true"
    lambda_client.update_function_configuration(
        FunctionName=target.function_name, Environment={"Variables": variables}
    )
    _wait(
        lambda: (
            lambda_client.get_function_configuration(FunctionName=target.function_name).get(
                "LastUpdateStatus", "Successful"
            )
            != "InProgress"
        ),
        "the function configuration update",
        timeout,
        sleep,
    )
    _say(
        f"mapping {uuid}: partial batch responses, bisect, retries, on-failure queue;"
        f" {REPORT_FLAG}=true"
    )
    return mapping


def _chalice(target: Target, *args: str, env: Mapping[str, str]) -> None:
    """Run Chalice on a clean copy of the project (no bytecode in the zip); keep its record."""
    chalice = Path(sys.executable).parent / "chalice"
    _say(" ".join(["chalice", *args, "--stage", target.stage]))
    record = Path(".chalice") / "deployed" / f"{target.stage}.json"
    with tempfile.TemporaryDirectory(prefix="users-stream-deploy.") as scratch:
        staged = stage_project(target.project, Path(scratch) / "project")
        command = [str(chalice), "--project-dir", str(staged), *args, "--stage", target.stage]
        subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            command, env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, check=True
        )
        kept = target.project / record
        if (staged / record).exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staged / record, kept)
        else:
            kept.unlink(missing_ok=True)


class _Clients:
    def __init__(self, endpoint_url: str | None) -> None:
        import boto3

        self._session = boto3.session.Session()
        self._endpoint_url = endpoint_url

    def __call__(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint_url)  # type: ignore[call-overload]


def deploy(args: argparse.Namespace, clients: Callable[[str], Any], env: Mapping[str, str]) -> int:
    target = Target(args.project_dir, args.stage)
    config = target.config()
    stage_variables = (
        config.get("stages", {}).get(target.stage, {}).get("environment_variables", {})
    )
    sender = str(
        args.sender
        or stage_variables.get("WELCOME_EMAIL_SENDER")
        or config.get("environment_variables", {}).get("WELCOME_EMAIL_SENDER", "")
    )
    try:  # before anything is created
        sender = check_sender(sender)
        check_identity(clients("ses"), sender, args.ses_identity)
    except PreflightError as exc:
        raise cli.Failure(f"preflight: {exc}") from None
    parameters = {"Stage": target.stage, **dict(args.table_parameter)}
    outputs = deploy_table_stack(clients("cloudformation"), target, parameters)
    configure_stage(
        target, outputs, sender, function_policy(outputs, target, sender, args.ses_identity)
    )
    ensure_log_group(clients("logs"), target, args.log_retention_days)
    lambda_client = clients("lambda")
    drop_stale_mapping(lambda_client, target, outputs["StreamArn"])
    _chalice(target, "deploy", env=env)
    tag_chalice_resources(clients("iam"), lambda_client, target)
    if args.chalice_only:
        _say(f"{REPORT_FLAG} stays false: whole batches are retried until their records expire")
        return 0
    settings = MappingSettings(
        args.maximum_retry_attempts, args.maximum_record_age, args.parallelization_factor
    )
    configure_mapping(lambda_client, target, outputs["OnFailureQueueArn"], settings)
    return 0


def delete(args: argparse.Namespace, clients: Callable[[str], Any], env: Mapping[str, str]) -> int:
    target = Target(args.project_dir, args.stage)
    if args.confirm != target.stack_name:
        raise cli.UsageError(
            f"this deletes the function and stack {target.stack_name} with the Users table and "
            f"the ledger, data included; run again with --confirm {target.stack_name}"
        )
    _chalice(target, "delete", env=env)
    logs = clients("logs")
    try:
        logs.delete_log_group(logGroupName=target.log_group)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    cloudformation, dynamodb = clients("cloudformation"), clients("dynamodb")
    stack = cloudformation.describe_stacks(StackName=target.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    for table in (outputs["TableName"], outputs["LedgerTableName"]):
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    cloudformation.delete_stack(StackName=target.stack_name)
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=target.stack_name, WaiterConfig={"Delay": 5, "MaxAttempts": 360}
    )
    _say(f"deleted the function and stack {target.stack_name}")
    return 0


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected Key=Value, got {text!r}")
    return key, value


def _common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options of every command; given before or after the command name alike."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--stage", default=default("dev"), help="the Chalice stage (dev)")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=default(INFRA.parent),
        help="the Chalice project (default: this checkout)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=default(os.environ.get("AWS_ENDPOINT_URL")),
        help="send every AWS call here (e.g. a local emulator); default: AWS_ENDPOINT_URL",
    )
    if not defaults:  # the top-level parser has it from devtools.cli
        parser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )


PROG = "python -m infra.chalice_deploy"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m infra.chalice_deploy``."""
    defaults = MappingSettings.defaults()
    parser = cli.parser(PROG, __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "deploy", parents=[common], help="table stack + chalice deploy + mapping settings"
    )
    up.add_argument("--sender", default="", help="WELCOME_EMAIL_SENDER (default: the config's)")
    up.add_argument("--ses-identity", default="", help="SES identity to send as (default: sender)")
    up.add_argument(
        "--table-parameter",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of infra/users-table.yaml, e.g. DeletionProtection=false",
    )
    up.add_argument(
        "--maximum-retry-attempts",
        type=int,
        default=defaults.maximum_retry_attempts,
        help="retries of a failing batch before the on-failure queue (%(default)s)",
    )
    up.add_argument(
        "--maximum-record-age",
        type=int,
        default=defaults.maximum_record_age_in_seconds,
        help="seconds before a record goes to the on-failure queue (%(default)s)",
    )
    up.add_argument(
        "--parallelization-factor",
        type=int,
        default=defaults.parallelization_factor,
        help="concurrent batches per shard, 1-10 (%(default)s)",
    )
    up.add_argument(
        "--log-retention-days",
        type=int,
        default=_consumer_default("LogRetentionInDays"),
        help="days the function's log lines are kept (%(default)s)",
    )
    up.add_argument(
        "--chalice-only",
        action="store_true",
        help="skip step 5: keep Chalice's plain mapping and REPORT_BATCH_ITEM_FAILURES=false",
    )
    down = commands.add_parser(
        "delete", parents=[common], help="chalice delete + table stack deletion"
    )
    down.add_argument(
        "--confirm", default="", metavar="STACK_NAME", help="the table stack's name, to confirm"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.project_dir = args.project_dir.resolve()
    env = dict(os.environ)
    if args.endpoint_url:
        env["AWS_ENDPOINT_URL"] = args.endpoint_url
    clients = _Clients(args.endpoint_url)
    command = deploy if args.command == "deploy" else delete
    return command(args, clients, env)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
