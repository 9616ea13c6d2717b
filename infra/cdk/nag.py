"""cdk-nag's AwsSolutions findings this stack accepts: each one names the rule and says why.

Anything else cdk-nag finds fails the synthesis (infra/cdk/app.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

__all__ = ["ACKNOWLEDGED", "acknowledge"]

_LOG_STREAMS = (
    "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
    "<FunctionLogGroup>:*"
)

# (logical id, finding, why) - the finding is cdk-nag's rule id with its detail, if any.
ACKNOWLEDGED: tuple[tuple[str, str, str], ...] = (
    (
        "OnFailureQueue",
        "AwsSolutions-SQS3",
        "It is the stream mapping's on-failure destination, the last stop: its messages are "
        "replayed from the stream (devtools.replay), a dead-letter queue behind it adds nothing.",
    ),
    (
        "OnFailureQueue",
        "AwsSolutions-SQS4",
        "No queue policy grants anyone access: only this stack's role may send (IAM), and "
        "Lambda's event source mapping and the AWS SDKs always call SQS over TLS.",
    ),
    (
        "AlarmTopic",
        "AwsSolutions-SNS3",
        "No topic policy grants anyone access: only this stack's CloudWatch alarms publish to "
        "it, over TLS, and the messages hold alarm names, metrics and thresholds only.",
    ),
    (
        "DefaultRole",
        "AwsSolutions-IAM5[Resource::*]",
        "dynamodb:ListStreams only: it has no resource-level permission (Service Authorization "
        "Reference for DynamoDB), and Lambda's event source mapping needs it.",
    ),
    (
        "DefaultRole",
        f"AwsSolutions-IAM5[{_LOG_STREAMS}]",
        "The log streams of this function's own log group, which Lambda names at run time.",
    ),
)


def acknowledge(*includes: Any) -> None:
    """Acknowledge each finding of :data:`ACKNOWLEDGED` on its resource in ``includes``.

    ``includes`` are the CfnInclude of the stack's resources and the ``chalice.cdk.Chalice``
    construct; each resource is looked up in the one that has it.
    """
    for logical_id, finding, reason in ACKNOWLEDGED:
        (resource,) = [
            include.get_resource(logical_id)
            for include in includes
            if logical_id in _logical_ids(include)
        ]
        cdk.Validations.of(resource).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))


def _logical_ids(include: Any) -> set[str]:
    template = getattr(include, "sam_template", include)
    return {child.node.id for child in template.node.children}
