"""Read CloudFormation YAML (with its short-form tags such as ``!Ref``) into plain data.

The short forms become the long JSON forms (``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt A.B`` ->
``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``), so the result can be
written as JSON, which is what ``chalice package --merge-template`` deep-merges.
:class:`Resolver` evaluates the few intrinsic functions the deploy script needs to turn a
template fragment (the function's IAM policy) into a concrete document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Resolver", "load_template", "loads_template"]


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that also understands CloudFormation's ``!Tag`` short forms."""


def _node_value(loader: _CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node.tag}")


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def loads_template(text: str) -> dict[str, Any]:
    """Parse a template's text; raise ``ValueError`` unless it is a mapping."""
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("a CloudFormation template must be a mapping")
    return data


def load_template(path: Path) -> dict[str, Any]:
    """Parse the template at ``path``."""
    return loads_template(path.read_text(encoding="utf-8"))


_FUNCTIONS = frozenset(
    {"Ref", "Condition", "Fn::GetAtt", "Fn::If", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Equals"}
    | {"Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::ImportValue"}
)
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Resolver:
    """Evaluates the intrinsic functions of a template fragment for one deployment.

    ``refs`` answers ``Ref`` (parameters, pseudo parameters, resources), ``attributes`` answers
    ``Fn::GetAtt`` by ``(logical id, attribute)`` and ``conditions`` holds the template's
    condition definitions for ``Fn::If``. Supports what the role, the alarms and the tables
    use: ``Ref`` (``AWS::NoValue`` resolves to ``None``), ``Fn::GetAtt``, ``Fn::Sub``,
    ``Fn::If``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Fn::Equals`` and ``Condition``.
    """

    refs: Mapping[str, str]
    attributes: Mapping[tuple[str, str], str]
    conditions: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, node: Any) -> Any:
        """``node`` with every intrinsic function replaced by its value."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or next(iter(node)) not in _FUNCTIONS:
            return {key: self.resolve(value) for key, value in node.items()}
        ((function, argument),) = node.items()
        if function == "Ref":
            return None if argument == "AWS::NoValue" else self.refs[argument]
        if function == "Condition":
            return bool(self.resolve(self.conditions[argument]))
        if function == "Fn::GetAtt":
            return self.attributes[(argument[0], argument[1])]
        if function == "Fn::If":
            condition, if_true, if_false = argument
            chosen = if_true if self.resolve(self.conditions[condition]) else if_false
            return self.resolve(chosen)
        if function == "Fn::Not":
            return not self.resolve(argument[0])
        if function == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if function == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if function == "Fn::Equals":
            return self.resolve(argument[0]) == self.resolve(argument[1])
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {name: str(self.resolve(value)) for name, value in variables.items()}
            return _SUB_VARIABLE.sub(
                lambda m: values[m[1]] if m[1] in values else self._name(m[1]), text
            )
        raise ValueError(f"unsupported intrinsic function {function}")

    def _name(self, name: str) -> str:
        resource, _, attribute = name.partition(".")
        return self.attributes[(resource, attribute)] if attribute else self.refs[name]
