"""The one-stack merge template, cut where the CDK way needs it: Chalice's part and the rest.

The CDK way (infra/cdk/) builds the same stack as ``chalice package --merge-template``, from the
same merge template (:func:`infra.merge.build_merge_template` of infra/users-table.yaml and
infra/consumer.yaml), but Chalice's resources come from the ``chalice.cdk.Chalice`` construct,
not from a merge. So the merge template is cut in two:

- the overlays of the resources Chalice generates (the function and its role), which the CDK
  app applies to the construct's resources as overrides, merged as ``--merge-template`` merges
  (:func:`overrides`: mappings key by key; lists, values and intrinsic functions replace);
- the rest (tables, queue, alarms, log group, parameters, conditions, outputs), a template of
  its own that ``cloudformation_include.CfnInclude`` reads. What it refers to in Chalice's part
  (``Ref: HandleUserChanges``) becomes a parameter of that template (:func:`split`), which the
  app binds to the construct's resource.

Nothing here imports the CDK: it runs, and is tested, in the project's own environment.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infra.merge import FUNCTION
from infra.policy import ROLE

__all__ = ["CHALICE_OWNED", "Split", "overrides", "split"]

# The logical ids Chalice generates that the overlay configures or replaces.
CHALICE_OWNED = (FUNCTION, ROLE)
_SUB_NAME = re.compile(r"\$\{([^}!.][^}.]*)(?:\.[^}]*)?\}")


def _is_intrinsic(node: Mapping[str, Any]) -> bool:
    (key,) = node if len(node) == 1 else ("",)
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def overrides(resource: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` for each value ``resource`` sets, merged as Chalice merges.

    A mapping is merged key by key, so only its leaves are set; a list, a scalar or an
    intrinsic function (``{"Ref": ...}``, ``{"Fn::GetAtt": ...}``) replaces what was there.
    """
    for key, value in resource.items():
        if "." in key:
            raise ValueError(f"a key with a dot cannot be overridden by path: {prefix}{key}")
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_intrinsic(value):
            yield from overrides(value, f"{path}.")
        else:
            yield path, copy.deepcopy(value)


def _names_used(node: Any) -> Iterator[str]:
    """Every name a template fragment refers to: ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub``."""
    if isinstance(node, list):
        for item in node:
            yield from _names_used(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt" and isinstance(value, list):
                yield str(value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                local = set() if isinstance(value, str) else set(value[1])
                yield from (m[1] for m in _SUB_NAME.finditer(text) if m[1] not in local)
                yield from _names_used(value if isinstance(value, str) else value[1])
            else:
                yield from _names_used(value)


@dataclass(frozen=True)
class Split:
    """The merge template cut in two; see the module's description."""

    owned: dict[str, dict[str, Any]]  # logical id -> that resource's overlay
    rest: dict[str, Any]  # a template for CfnInclude
    bound: tuple[str, ...]  # parameters of ``rest`` standing for Chalice's resources


def split(merged: Mapping[str, Any]) -> Split:
    """Cut ``merged`` (the merge template) into Chalice's part and a template of the rest."""
    rest = copy.deepcopy(dict(merged))
    resources: dict[str, Any] = rest["Resources"]
    owned = {name: resources.pop(name) for name in CHALICE_OWNED}
    parameters: dict[str, Any] = rest.setdefault("Parameters", {})
    defined = set(resources) | set(parameters)
    used = set(_names_used({k: v for k, v in rest.items() if k != "Metadata"}))
    foreign = sorted(name for name in used - defined if not name.startswith("AWS::"))
    unknown = [name for name in foreign if name not in CHALICE_OWNED]
    if unknown:
        raise ValueError(f"the merge template uses names nobody defines: {', '.join(unknown)}")
    for name in foreign:
        parameters[name] = {"Type": "String", "Description": f"Chalice's {name}, bound by CDK."}
    return Split(owned=owned, rest=rest, bound=tuple(foreign))
