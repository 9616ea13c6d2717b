"""The function's IAM policy: written once, in infra/consumer.yaml, resolved for each way.

The one-stack way deploys the role of infra/consumer.yaml as it is (CloudFormation resolves its
``!GetAtt`` and ``!Sub``). The ``chalice deploy`` way cannot: Chalice takes a finished policy
document. :func:`resolved_policy` evaluates the same statements with the ARNs of a deployed
table stack, each built by :class:`~infra.arn.Arn` from the stack's outputs, so both ways grant
exactly the same actions on the same kinds of resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.arn import Arn
from infra.cfn import Resolver, load_template
from infra.merge import OVERLAY

__all__ = ["ROLE", "policy_statements", "resolved_policy"]

ROLE = "DefaultRole"  # the logical id of the role Chalice generates, replaced by ours


def _document(template: Mapping[str, Any]) -> dict[str, Any]:
    (policy,) = template["Resources"][ROLE]["Properties"]["Policies"]
    document: dict[str, Any] = policy["PolicyDocument"]
    return document


def policy_statements(template: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The role's statements as written (intrinsic functions unresolved)."""
    statements: list[dict[str, Any]] = _document(template or load_template(OVERLAY))["Statement"]
    return statements


def resolved_policy(
    outputs: Mapping[str, str], *, log_group: str, sender: str, ses_identity: str = ""
) -> dict[str, Any]:
    """The role's policy document for the table stack whose outputs are ``outputs``.

    ``log_group`` is the function's log group name; ``sender`` and ``ses_identity`` are the
    template's ``WelcomeEmailSender`` and ``SesIdentity`` parameters.
    """
    table = Arn.parse(outputs["TableArn"])
    consumer = load_template(OVERLAY)
    resolver = Resolver(
        refs={
            "AWS::Partition": table.partition,
            "AWS::Region": table.region,
            "AWS::AccountId": table.account,
            "WelcomeEmailSender": sender,
            "SesIdentity": ses_identity,
            "FunctionLogGroup": log_group,
        },
        attributes={
            ("UsersTable", "Arn"): str(table),
            ("UsersTable", "StreamArn"): str(Arn.parse(outputs["StreamArn"])),
            ("LedgerTable", "Arn"): str(Arn.parse(outputs["LedgerTableArn"])),
            ("OnFailureQueue", "Arn"): str(Arn.parse(outputs["OnFailureQueueArn"])),
        },
        conditions=consumer["Conditions"],
    )
    resolved: dict[str, Any] = resolver.resolve(_document(consumer))
    return resolved
