"""Independent checks of an IAM policy document: parliament's audit, plus every ARN's fields.

Two kinds of finding, each one line:

- parliament (duo-labs' IAM linter, with its own copy of AWS's Service Authorization
  Reference): unknown actions, malformed ARNs, an action paired with a resource type it does
  not apply to, ``Resource: "*"`` where the action has resource-level permissions, ...;
- this module: every resource ARN parses into partition, service, region and account; the
  service is the one of each action in its statement; the region is one botocore knows; the
  account has 12 digits; and the ARN names a resource that exists: exactly one of
  ``existing``, the ARNs of the deployed stack's own resources (a wildcard counts only as a
  log group's ``:*`` streams).

``Resource: "*"`` is accepted only for actions parliament reports as having no resource type.

One false positive of parliament is worked around: it takes any ``:`` in an ARN's resource part
for another resource type, but a DynamoDB stream's label is a timestamp with colons (AWS's own
example: ``arn:aws:dynamodb:us-west-2:111122223333:table/TestTable/stream/2015-05-11T21:21:33.291``,
DynamoDB Streams API Reference, DescribeStream). parliament is shown the label with ``-`` for
``:``; the ARN checks of this module see the real one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from infra.arn import Arn, ArnError

__all__ = ["audit", "parliament_findings", "resource_findings"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_STREAM_LABEL = re.compile(r"(:table/[^/]+/stream/)([^\"]+)")


def _stream_labels_without_colons(text: str) -> str:
    return _STREAM_LABEL.sub(lambda m: m[1] + m[2].replace(":", "-"), text)


def parliament_findings(document: Mapping[str, Any]) -> list[str]:
    """What parliament reports about ``document``, one line each."""
    from parliament import analyze_policy_string

    policy = analyze_policy_string(_stream_labels_without_colons(json.dumps(document)))
    return [f"parliament {f.issue}: {json.dumps(f.detail, default=str)}" for f in policy.findings]


def _names_existing(resource: str, existing: Collection[str]) -> bool:
    """Whether ``resource`` is exactly one of ``existing``, or a log group's streams (``:*``).

    A wildcard anywhere else could cover resources beyond the stack's, so it does not count.
    """
    if resource in existing:
        return True
    group, star, _ = resource.rpartition(":*")
    return (
        bool(star)
        and ":log-group:" in group
        and "*" not in group
        and (f"{group}:*" in existing or group in existing)
    )


def _statement_findings(statement: Mapping[str, Any], existing: Collection[str]) -> list[str]:
    sid = statement.get("Sid", "?")
    if "Action" not in statement or "Resource" not in statement:
        return [f"{sid}: only Action with Resource is audited here (NotAction/NotResource)"]
    services = {str(action).split(":", 1)[0] for action in _as_list(statement["Action"])}
    found = []
    for resource in _as_list(statement["Resource"]):
        if resource == "*":
            continue  # parliament reports a "*" where a resource type exists
        try:
            arn = Arn.parse(str(resource))
        except ArnError as exc:
            found.append(f"{sid}: {exc}")
            continue
        if services != {arn.service}:
            found.append(f"{sid}: {resource} is a {arn.service} ARN for {sorted(services)}")
        found.extend(f"{sid}: {resource}: {problem}" for problem in arn.problems())
        if not _names_existing(str(resource), existing):
            found.append(f"{sid}: {resource} names no resource of the deployed stack")
    return found


def resource_findings(document: Mapping[str, Any], existing: Iterable[str]) -> list[str]:
    """ARN problems of ``document``'s statements, against the ARNs in ``existing``."""
    names = set(existing)
    return [
        finding
        for statement in _as_list(document["Statement"])
        for finding in _statement_findings(statement, names)
    ]


def audit(document: Mapping[str, Any], existing: Iterable[str]) -> list[str]:
    """Every finding about ``document``; an empty list is a clean policy."""
    return parliament_findings(document) + resource_findings(document, existing)
