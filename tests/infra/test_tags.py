"""Every resource that can carry tags carries `project` and `stage`, in every template.

Which resource types take tags is read from cfn-lint's copy of the CloudFormation resource
schemas (the registry's own definitions), not from a list written here.
"""

from __future__ import annotations

from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from infra.cfn import load_template
from tests.infra.conftest import TABLE_TEMPLATE, Packaged

WANTED = {"project": "users-stream", "stage": {"Ref": "Stage"}}


def taggable(kind: str) -> bool:
    if kind == "AWS::Serverless::Function":  # SAM: Tags, propagated with PropagateTags
        return True
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
    return "Tags" in schema["properties"]


def tags_of(resource: dict[str, Any]) -> dict[str, Any]:
    tags = resource.get("Properties", {}).get("Tags", {})
    if isinstance(tags, list):
        return {tag["Key"]: tag["Value"] for tag in tags}
    return dict(tags)


def untagged(template: dict[str, Any]) -> list[str]:
    return [
        name
        for name, resource in template["Resources"].items()
        if taggable(resource["Type"]) and not carries_wanted(resource)
    ]


def carries_wanted(resource: dict[str, Any]) -> bool:
    tags = tags_of(resource)
    return all(tags.get(key) == value for key, value in WANTED.items())


def test_every_taggable_resource_of_the_table_stack_is_tagged():
    assert untagged(load_template(TABLE_TEMPLATE)) == []


def test_every_taggable_resource_of_the_one_stack_is_tagged(packaged: Packaged):
    template = packaged.template()
    assert untagged(template) == []
    function = template["Resources"]["HandleUserChanges"]["Properties"]
    assert function["PropagateTags"] is True


def test_the_transform_carries_the_tags_to_the_function(transformed):
    # The transform does not tag the mapping it generates: the stack's own tags reach it
    # (infra/package.sh deploy passes --tags; the rehearsal reads them back from the stack).
    (function,) = [
        r for r in transformed["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert carries_wanted(function)


def test_a_type_without_tags_is_known_as_such():
    assert not taggable("AWS::SNS::Subscription")
    assert taggable("AWS::CloudWatch::Alarm")
