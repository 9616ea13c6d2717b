"""Where moto differs from AWS in what the CDK CLI relies on (``cdk bootstrap/deploy/destroy``).

The gaps of :mod:`devtools.moto_fidelity` that only the CDK way meets:

1. A template uploaded to the emulator's S3. A tool that uploads its template and passes its URL
(the CDK CLI does, for every stack) builds that URL on the S3 endpoint it uses: path-style on
the emulator, ``http://127.0.0.1:<port>/<bucket>/<key>``. moto reads only AWS's own URL forms
and took ``127`` for the bucket; such a URL is read as the path-style URL it is.

2. A change set that does not exist. Before every update, ``cdk deploy`` deletes its change set
of a previous run by name, "if it exists" (its own words), which AWS lets pass, then describes
it until AWS answers ``ChangeSetNotFound`` (CloudFormation API Reference, DescribeChangeSet).
moto failed the deletion with an internal error (500) and answered the description with
"Stack with id ... does not exist"; both now answer as AWS does.

3. The previous value of an SSM parameter (the CDK's ``BootstrapVersion``). AWS keeps the
parameter's path as its value and resolves it again on each update; moto passed the resolved
value back in as the path (``UsePreviousValue``) and failed the update looking it up. An update
now passes the path back in, as AWS does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from devtools.moto_fidelity import original

__all__ = ["install_cdk_cli_gaps"]


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


def install_cdk_cli_gaps() -> None:
    """The three gaps above (called by :func:`devtools.moto_fidelity.install`)."""
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse

    from_url: Callable[[Any, str], str] = original(CloudFormationResponse, "_get_stack_from_s3_url")

    def from_emulator_url(self: Any, template_url: str) -> str:
        parts = urlsplit(template_url)
        if parts.hostname and not parts.hostname.endswith("amazonaws.com"):
            template_url = f"https://s3.amazonaws.com{parts.path}"  # the same, path-style
        return from_url(self, template_url)

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    resolved_parameters = original(Stack, "stack_parameters")

    def stack_parameters(self: Stack) -> dict[str, Any]:
        return {**resolved_parameters.fget(self), **_ssm_paths(self)}

    describe_change_set: Callable[[Any, str], Any] = original(
        CloudFormationBackend, "describe_change_set"
    )

    def describe_change_set_as_aws(self: Any, change_set_name: str) -> Any:
        if not _known_change_set(self.change_sets, change_set_name):
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        return describe_change_set(self, change_set_name)

    delete_change_set: Callable[[Any, str], None] = original(
        CloudFormationBackend, "delete_change_set"
    )

    def delete_change_set_as_aws(self: Any, change_set_name: str) -> None:
        if _known_change_set(self.change_sets, change_set_name):
            delete_change_set(self, change_set_name)

    CloudFormationResponse._get_stack_from_s3_url = from_emulator_url  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = delete_change_set_as_aws  # type: ignore[method-assign]
    CloudFormationBackend.describe_change_set = describe_change_set_as_aws  # type: ignore[method-assign]
    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment,method-assign]
