"""The stack's one dashboard, read from ``infra/users-table.yaml`` with its variables filled in.

The dashboard is defined once, as the ``Dashboard`` resource's ``DashboardBody`` (``Fn::Sub``
of a JSON text and its variables), so that every way of deploying (the table stack alone, the
one-stack template, the CDK app that includes the file) gets it. The local pipeline draws the
same widgets (:mod:`devtools.dashboard`) from this same text, with local values for the
variables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from infra.cfn import load_template
from infra.merge import TABLE_TEMPLATE

__all__ = ["DASHBOARD", "body", "body_template", "variables"]

DASHBOARD = "Dashboard"  # the logical id of the dashboard resource
_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def body_template(template: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The ``Fn::Sub`` text of the dashboard body and its variable map, as written."""
    loaded = template if template is not None else load_template(TABLE_TEMPLATE)
    sub = loaded["Resources"][DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    text, mapping = (sub, {}) if isinstance(sub, str) else sub
    return text, dict(mapping)


def variables(text: str) -> set[str]:
    """The names ``${...}`` in ``text``."""
    return set(_VARIABLE.findall(text))


def body(values: Mapping[str, str], template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The dashboard body with every variable replaced by ``values`` (a KeyError names a
    variable without a value)."""
    text, _ = body_template(template)
    filled = _VARIABLE.sub(lambda match: json.dumps(values[match[1]])[1:-1], text)
    parsed: dict[str, Any] = json.loads(filled)
    return parsed
