"""Amazon Resource Names: parse one into its fields, format one from them, check them.

    arn:<partition>:<service>:<region>:<account>:<resource>

The format is AWS's (IAM User Guide, "IAM identifiers", ARN format). The resource part may hold
``:`` and ``/`` (``log-group:/aws/lambda/x:*``, ``table/Users/stream/2024-...``), so it is the
rest of the text after the fifth ``:``. Which partitions and regions exist is read from
botocore's own endpoint data, not written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

__all__ = ["Arn", "ArnError", "known_region"]

_ACCOUNT = re.compile(r"\d{12}")
_GLOBAL_SERVICES = frozenset({"iam", "s3", "cloudfront", "route53"})


class ArnError(ValueError):
    """A text that is not a well-formed ARN; the message names the field."""


@dataclass(frozen=True, slots=True)
class Arn:
    """One ARN. ``str(arn)`` formats it back exactly."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """The fields of ``text``; :class:`ArnError` names the first that is wrong."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ArnError(f"not an ARN (arn:partition:service:region:account:resource): {text}")
        _, partition, service, region, account, resource = parts
        if not partition or not service or not resource:
            raise ArnError(f"ARN with an empty partition, service or resource: {text}")
        return cls(partition, service, region, account, resource)

    def __str__(self) -> str:
        return ":".join(
            ("arn", self.partition, self.service, self.region, self.account, self.resource)
        )

    def sibling(self, service: str, resource: str) -> Arn:
        """An ARN of another resource in the same partition, region and account."""
        return replace(self, service=service, resource=resource)

    def problems(self) -> list[str]:
        """What is wrong with this ARN as the ARN of a regional resource of one account.

        Global services' ARNs (IAM: no region; S3: no region and no account) are judged by
        what their format allows.
        """
        if self.service in _GLOBAL_SERVICES:
            return [] if not self.region else [f"{self.service} ARNs name no region"]
        found = []
        if not _ACCOUNT.fullmatch(self.account):
            found.append(f"account {self.account!r} is not 12 digits")
        if not known_region(self.partition, self.region):
            found.append(f"region {self.region!r} is not a region of partition {self.partition}")
        return found


@cache
def _partitions() -> dict[str, frozenset[str]]:
    """Each partition's listed regions, from botocore's endpoint data."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return {p["partition"]: frozenset(p.get("regions", {})) for p in endpoints["partitions"]}


def known_region(partition: str, region: str) -> bool:
    """Whether botocore lists ``region`` as a region of ``partition``.

    Only listed regions count: a name that merely fits the partition's pattern (``us-fake-9``)
    is no region anyone can deploy to. A region newer than the installed botocore is reported
    until botocore is upgraded.
    """
    return region in _partitions().get(partition, frozenset())
