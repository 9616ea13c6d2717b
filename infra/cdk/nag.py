"""cdk-nag's AwsSolutions findings this stack accepts: each one names the rule and says why.

Anything else cdk-nag finds fails the synthesis (infra/cdk/app.py). The list is plain data, so
the tests (which run without the CDK) read it too.
"""

from __future__ import annotations

from typing import Any

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
        "Only this account may publish (the default topic policy), and its publishers are this "
        "stack's alarms, over TLS; the messages hold alarm names, metrics and thresholds.",
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


# CDK's own template validation ("CloudFormation Validate", warnings only) reads every branch of
# an Fn::If as if it could be taken: with the parameters' defaults it sees an empty table name
# and empty alarm actions that the conditions never produce. cfn-lint, run on the same template
# by the tests, finds nothing. (Its W1001 on the AlarmTopicArn output is one more: the output
# reads AlarmTopic only when NotifiesAlarms and not HasAlarmTopic, that is CreatesAlarmTopic.
# It names the stack, and an acknowledgement there would be copied into every resource, so
# that warning stays.)
VALIDATOR_FALSE_POSITIVES: tuple[tuple[str, str, str], ...] = (
    *(
        (
            name,
            "CloudFormation-Validate::F3033",
            "Empty only in an Fn::If branch its condition rules out.",
        )
        for name in (
            "UsersTable",
            "LedgerTable",
            "IteratorAgeAlarm",
            "ErrorsAlarm",
            "OnFailureQueueAlarm",
        )
    ),
    *(
        (name, "CloudFormation-Validate::E3019", "No table name is ever empty under its condition.")
        for name in ("UsersTable", "LedgerTable")
    ),
)


def acknowledge(stack: Any) -> None:
    """Acknowledge each finding of :data:`ACKNOWLEDGED` on the resource of ``stack`` it names."""
    import aws_cdk as cdk

    # Included resources keep their template's logical ids as construct ids.
    resources = {
        node.node.id: node for node in stack.node.find_all() if isinstance(node, cdk.CfnResource)
    }
    for logical_id, finding, reason in ACKNOWLEDGED + VALIDATOR_FALSE_POSITIVES:
        acknowledgment = cdk.Acknowledgment(id=finding, reason=reason)
        cdk.Validations.of(resources[logical_id]).acknowledge(acknowledgment)
