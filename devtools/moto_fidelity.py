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

5. Time to Live. moto's CloudFormation ignores a table's ``TimeToLiveSpecification``; it is
applied as CloudFormation does, when the table is created from a template.

A moto upgrade that renames what is patched here makes :func:`install` raise (every patched
name is looked up first), and the tests of this module fail, rather than the emulator silently
dropping the function again. A template the transform rejects fails like a bad template in
AWS, with a ``ValidationError``, not a server error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["SAM_TRANSFORM", "expand", "install", "original"]

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
    from moto.cloudformation.exceptions import ValidationError
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(
        managed_policy_map=_MANAGED_POLICIES,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=region),
    )
    try:
        return translator.translate(template, parameter_values={})
    except InvalidDocumentException as exc:
        raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {exc}") from None


def original(owner: Any, name: str) -> Any:
    """``owner.name``, which a patch is about to replace; a moto without it fails loudly."""
    if not hasattr(owner, name):
        raise RuntimeError(f"moto changed: {owner.__name__}.{name} is gone; see {__name__}")
    return getattr(owner, name)


def _patch_sam_transform() -> None:
    from moto.cloudformation.models import ChangeSet, Stack

    parse: Callable[[str], dict[str, Any]] = original(Stack, "parse_template")
    change_set_parse: Callable[[Any], None] = original(ChangeSet, "_parse_template")

    def parse_template(template: str) -> dict[str, Any]:
        expanded: dict[str, Any] = expand(parse(template))
        return expanded

    def parse_change_set(self: Any) -> None:
        change_set_parse(self)
        self.template_dict = expand(self.template_dict, self.stack.region_name)

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
    ChangeSet._parse_template = parse_change_set  # type: ignore[method-assign]


def _patch_change_sets() -> None:
    from moto.cloudformation.models import ChangeSet, Stack
    from moto.cloudformation.responses import CloudFormationResponse

    create: Callable[[Any], Any] = original(CloudFormationResponse, "create_change_set")
    original(CloudFormationResponse, "_validate_different_update")
    original(Stack, "has_parameters")
    original(Stack, "_create_output_map")
    apply: Callable[[Any], None] = original(ChangeSet, "apply")

    def create_change_set_as_aws(self: Any) -> Any:
        self._validate_different_update = lambda *args: None  # UpdateStack's check only
        try:
            return create(self)
        finally:
            del self._validate_different_update

    def has_parameters(self: Stack, other_parameters: dict[str, Any]) -> bool:
        current = dict(self.stack_parameters)
        return all(current.get(key) == value for key, value in other_parameters.items())

    def apply_with_outputs(self: Any) -> None:
        apply(self)
        stack = self.stack
        stack.template_dict = self.template_dict
        stack.description = self.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    CloudFormationResponse.create_change_set = create_change_set_as_aws  # type: ignore[method-assign]
    Stack.has_parameters = has_parameters  # type: ignore[method-assign]
    ChangeSet.apply = apply_with_outputs  # type: ignore[method-assign]


def _patch_mapped_functions() -> None:
    from moto.awslambda.models import LambdaBackend

    original(LambdaBackend, "send_dynamodb_items")

    def leave_the_stream_to_the_poller(
        self: LambdaBackend, function_arn: str, items: list[Any], source: str
    ) -> str:
        return ""  # nothing ran: moto keeps the stream's records

    LambdaBackend.send_dynamodb_items = leave_the_stream_to_the_poller  # type: ignore[method-assign]


def _patch_time_to_live() -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    create: Callable[..., Table] = original(Table, "create_from_cloudformation_json").__func__

    def create_with_time_to_live(
        cls: type[Table],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Table:
        table = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        spec = cloudformation_json.get("Properties", {}).get("TimeToLiveSpecification")
        if isinstance(spec, dict) and str(spec.get("Enabled")).lower() == "true":
            dynamodb_backends[account_id][region_name].update_time_to_live(
                table.name, {"AttributeName": spec["AttributeName"], "Enabled": True}
            )
        return table

    Table.create_from_cloudformation_json = classmethod(create_with_time_to_live)  # type: ignore[method-assign,assignment,arg-type]


def install() -> None:
    """Make moto behave as AWS does in the five ways above, and in those of
    :mod:`devtools.moto_cdk` (once per process)."""
    with _installed:
        if _done:
            return
        _patch_sam_transform()
        _patch_change_sets()
        _patch_mapped_functions()
        _patch_time_to_live()
        from devtools.moto_cdk import install_cdk_cli_gaps

        install_cdk_cli_gaps()  # what the CDK CLI needs besides (devtools/moto_cdk.py)
        _done.append(True)
