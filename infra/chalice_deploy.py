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
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chalicelib.clients import error_code
from devtools import cli
from infra.deploy_steps import (
    chalice,
    configure_mapping,
    configure_stage,
    deploy_table_stack,
    drop_stale_mapping,
    ensure_log_group,
    function_policy,
    tag_chalice_resources,
)
from infra.deploy_target import MappingSettings, Target, consumer_default, say
from infra.merge import INFRA, REPORT_FLAG
from infra.preflight import PreflightError, check_identity, check_sender

__all__ = ["main", "parser"]


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
    chalice(target, "deploy", env=env)
    tag_chalice_resources(clients("iam"), lambda_client, target)
    if args.chalice_only:
        say(f"{REPORT_FLAG} stays false: whole batches are retried until their records expire")
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
    chalice(target, "delete", env=env)
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
    say(f"deleted the function and stack {target.stack_name}")
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
        default=consumer_default("LogRetentionInDays"),
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
