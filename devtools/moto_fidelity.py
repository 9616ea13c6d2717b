"""Where moto differs from AWS in what a deployment relies on, made to behave as AWS does.

1. The SAM transform.

moto's CloudFormation does not know ``Transform: AWS::Serverless-2016-10-31``: it skips every
``AWS::Serverless::*`` resource, silently, and a stack "completes" without its function or its
event source mapping. AWS expands the transform on its side before it creates anything. So does
the emulator, once :func:`install` has run: every template that moto's CloudFormation parses
(``CreateStack``, ``UpdateStack``, ``CreateChangeSet``, so ``aws cloudformation deploy`` too) is
expanded first by aws-sam-translator, the library SAM itself uses for that transform.

2. A change set with no changes. AWS creates it and lets it end in ``FAILED`` with the reason
"The submitted information didn't contain changes", which ``aws cloudformation deploy
--no-fail-on-empty-changeset`` reads as success. moto refuses ``CreateChangeSet`` itself with
"No updates are to be performed" (what AWS answers to ``UpdateStack`` only), so re-running an
unchanged deploy failed against the emulator where it succeeds in AWS. moto's backend already
marks such a change set ``FAILED`` with AWS's reason; only the early refusal is skipped, and
parameters are compared by value: the CLI passes ``UsePreviousValue`` for every parameter it
does not override, which moto counted as a change.

3. Executing a change set. moto applies its resources but keeps the stack's outputs from before
(none, for a new stack), so ``describe-stacks`` after ``aws cloudformation deploy`` showed no
outputs. They are rebuilt from the change set's template, as ``UpdateStack`` does in moto.

4. Event source mappings. moto runs a mapped function itself on every write to the table (in
Docker, which this machine does not have) and, when that returns, drops the stream's records,
so no other reader sees them. In the emulator the local poller is the event source mapping:
moto's own invocation is turned off, and the stream keeps every record, as DynamoDB does.

5. A template uploaded to the emulator's S3. A tool that uploads its template and passes its URL
(the CDK CLI does, for every stack) builds that URL on the S3 endpoint it uses: path-style on
the emulator, ``http://127.0.0.1:<port>/<bucket>/<key>``. moto reads only AWS's own URL forms
and took ``127`` for the bucket; such a URL is read as the path-style URL it is.

6. A change set that does not exist. Before every update, ``cdk deploy`` deletes its change set
of a previous run by name, "if it exists" (its own words), which AWS lets pass, then describes
it until AWS answers ``ChangeSetNotFound`` (CloudFormation API Reference, DescribeChangeSet).
moto failed the deletion with an internal error (500) and answered the description with
"Stack with id ... does not exist"; both now answer as AWS does.

7. The previous value of an SSM parameter (the CDK's ``BootstrapVersion``). AWS keeps the
parameter's path as its value and resolves it again on each update; moto passed the resolved
value back in as the path (``UsePreviousValue``) and failed the update looking it up. An update
now passes the path back in, as AWS does.

A moto upgrade that renames what is patched here makes :func:`install` raise, and the tests of
this module fail, rather than the emulator silently dropping the function again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SAM_TRANSFORM", "expand", "install"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# The translator asks IAM for managed policies a function names by name; this project's
# function names none (its role is written out), so an offline map of the usual one is enough.
_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ),
}
_installed = threading.Lock()
_done: list[bool] = []


def _uses_sam(template: Any) -> bool:
    if not isinstance(template, dict):
        return False
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def expand(template: Any, region: str = "us-east-1") -> Any:
    """``template`` with the SAM transform applied, or unchanged if it does not use it."""
    if not _uses_sam(template):
        return template
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(
        managed_policy_map=_MANAGED_POLICIES,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=region),
    )
    return translator.translate(template, parameter_values={})


def _known_change_set(change_sets: dict[str, Any], name_or_id: str) -> bool:
    return name_or_id in change_sets or any(
        change_set.change_set_name == name_or_id for change_set in change_sets.values()
    )


def _ssm_paths(stack: Any) -> dict[str, Any]:
    """The SSM parameters of ``stack`` by their paths (their values as AWS reports them)."""
    slots: dict[str, Any] = stack.template_dict.get("Parameters", {})
    given: dict[str, Any] = stack.resource_map.input_parameters
    return {
        key: given.get(key, slot.get("Default"))
        for key, slot in slots.items()
        if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::")
    }


def _install_cdk_cli_gaps() -> None:
    """Gaps 5 to 7: what the CDK CLI's bootstrap, deploy and destroy need."""
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse

    from_url: Callable[[Any, str], str] = CloudFormationResponse._get_stack_from_s3_url

    def from_emulator_url(self: Any, template_url: str) -> str:
        parts = urlsplit(template_url)
        if parts.hostname and not parts.hostname.endswith("amazonaws.com"):
            template_url = f"https://s3.amazonaws.com{parts.path}"  # the same, path-style
        return from_url(self, template_url)

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    resolved_parameters = Stack.stack_parameters

    def stack_parameters(self: Stack) -> dict[str, Any]:
        return {**resolved_parameters.fget(self), **_ssm_paths(self)}  # type: ignore[attr-defined]

    describe_change_set: Callable[[Any, str], Any] = CloudFormationBackend.describe_change_set

    def describe_change_set_as_aws(self: Any, change_set_name: str) -> Any:
        if not _known_change_set(self.change_sets, change_set_name):
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        return describe_change_set(self, change_set_name)

    delete_change_set: Callable[[Any, str], None] = CloudFormationBackend.delete_change_set

    def delete_change_set_as_aws(self: Any, change_set_name: str) -> None:
        if _known_change_set(self.change_sets, change_set_name):
            delete_change_set(self, change_set_name)

    CloudFormationResponse._get_stack_from_s3_url = from_emulator_url  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = delete_change_set_as_aws  # type: ignore[method-assign]
    CloudFormationBackend.describe_change_set = describe_change_set_as_aws  # type: ignore[method-assign]
    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment,method-assign]


def install() -> None:
    """Make moto's CloudFormation expand the SAM transform (once per process)."""
    with _installed:
        if _done:
            return
        from moto.awslambda.models import LambdaBackend
        from moto.cloudformation.models import ChangeSet, Stack
        from moto.cloudformation.responses import CloudFormationResponse

        parse: Callable[[str], dict[str, Any]] = Stack.parse_template
        change_set_parse: Callable[[Any], None] = ChangeSet._parse_template

        def parse_template(template: str) -> dict[str, Any]:
            expanded: dict[str, Any] = expand(parse(template))
            return expanded

        def parse_change_set(self: Any) -> None:
            change_set_parse(self)
            self.template_dict = expand(self.template_dict, self.stack.region_name)

        create_change_set: Callable[[Any], Any] = CloudFormationResponse.create_change_set
        getattr(CloudFormationResponse, "_validate_different_update")  # noqa: B009 - must exist

        def create_change_set_as_aws(self: Any) -> Any:
            self._validate_different_update = lambda *args: None  # UpdateStack's check only
            try:
                return create_change_set(self)
            finally:
                del self._validate_different_update

        def has_parameters(self: Stack, other_parameters: dict[str, Any]) -> bool:
            current = dict(self.stack_parameters)
            return all(current.get(key) == value for key, value in other_parameters.items())

        apply: Callable[[Any], None] = ChangeSet.apply

        def apply_with_outputs(self: Any) -> None:
            apply(self)
            stack = self.stack
            stack.template_dict = self.template_dict
            stack.description = self.template_dict.get("Description")
            stack.output_map = stack._create_output_map()

        getattr(LambdaBackend, "send_dynamodb_items")  # noqa: B009 - must exist

        def leave_the_stream_to_the_poller(
            self: LambdaBackend, function_arn: str, items: list[Any], source: str
        ) -> str:
            return ""  # nothing ran: moto keeps the stream's records

        LambdaBackend.send_dynamodb_items = leave_the_stream_to_the_poller  # type: ignore[method-assign]
        ChangeSet.apply = apply_with_outputs  # type: ignore[method-assign]
        Stack.has_parameters = has_parameters  # type: ignore[method-assign]
        Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
        ChangeSet._parse_template = parse_change_set  # type: ignore[method-assign]
        CloudFormationResponse.create_change_set = create_change_set_as_aws  # type: ignore[method-assign]
        _install_cdk_cli_gaps()
        _done.append(True)
