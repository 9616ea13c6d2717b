"""The rules of CloudWatch's "Specification: Embedded metric format", as a checker of one line.

Written from the specification's text (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html), not from chalicelib.metrics; the value
limits come from botocore's CloudWatch service model (the PutMetricData shapes AWS publishes),
so neither can drift with the writer under test:

* the log event is one JSON object with nothing before or after it;
* the root holds ``_aws``, an object with ``Timestamp`` (a number: milliseconds after
  1970-01-01 UTC) and ``CloudWatchMetrics`` (an array of MetricDirective objects);
* a MetricDirective holds ``Namespace`` (a string), ``Dimensions`` (an array of DimensionSets)
  and ``Metrics`` (an array of at most 100 MetricDefinitions), and nothing else;
* a DimensionSet is an array of at most 30 strings, each a dimension key;
* a MetricDefinition holds ``Name`` (a string), optionally ``Unit`` (one of CloudWatch's
  units) and ``StorageResolution`` (1 or 60), and nothing else;
* every dimension key and metric name referenced is a member of the root ("target members");
  a dimension's value is a string, a metric's a number or an array of at most 100 numbers.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any

import botocore.session

__all__ = ["limits", "violations"]

MAX_METRICS = 100
MAX_DIMENSIONS = 30
MAX_VALUES = 100
RESOLUTIONS = (1, 60)
YEAR_2000_MS, YEAR_2100_MS = 946_684_800_000, 4_102_444_800_000


@cache
def limits() -> dict[str, Any]:
    """Units and length limits from botocore's CloudWatch model."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    return {
        "units": frozenset(model.shape_for("StandardUnit").metadata["enum"]),
        "namespace": model.shape_for("Namespace").metadata,
        "metric_name": model.shape_for("MetricName").metadata,
        "dimension_name": model.shape_for("DimensionName").metadata,
        "dimension_value": model.shape_for("DimensionValue").metadata,
    }


def _length(text: Any, shape: dict[str, Any], what: str) -> list[str]:
    if type(text) is not str:
        return [f"{what} is not a string"]
    if not shape.get("min", 0) <= len(text) <= shape.get("max", math.inf):
        return [f"{what} {text!r} is not {shape.get('min')}-{shape.get('max')} characters"]
    if "pattern" in shape and not re.fullmatch(shape["pattern"], text, re.DOTALL):
        return [f"{what} {text!r} does not match {shape['pattern']}"]
    return []


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _directive(root: dict[str, Any], directive: Any, where: str) -> list[str]:
    if type(directive) is not dict:
        return [f"{where} is not an object"]
    found = [f"{where} has unknown member {k}" for k in directive if k not in _DIRECTIVE_KEYS]
    found += _length(directive.get("Namespace"), limits()["namespace"], f"{where}.Namespace")
    sets, metrics = directive.get("Dimensions"), directive.get("Metrics")
    if type(sets) is not list:
        return [*found, f"{where}.Dimensions is not an array"]
    if type(metrics) is not list:
        return [*found, f"{where}.Metrics is not an array"]
    if len(metrics) > MAX_METRICS:
        found.append(f"{where}.Metrics has {len(metrics)} > {MAX_METRICS} definitions")
    for dimension_set in sets:
        if type(dimension_set) is not list or len(dimension_set) > MAX_DIMENSIONS:
            found.append(f"{where}: a DimensionSet is not an array of <= 30 keys")
            continue
        for key in dimension_set:
            found += _length(key, limits()["dimension_name"], "dimension key")
            value = root.get(key) if type(key) is str else None
            found += _length(value, limits()["dimension_value"], f"target member {key!r}")
    for metric in metrics:
        found += _metric(root, metric, where)
    return found


def _metric(root: dict[str, Any], metric: Any, where: str) -> list[str]:
    if type(metric) is not dict:
        return [f"{where}: a MetricDefinition is not an object"]
    found = [f"{where}: unknown member {k}" for k in metric if k not in _DEFINITION_KEYS]
    name = metric.get("Name")
    found += _length(name, limits()["metric_name"], "metric Name")
    if "Unit" in metric and metric["Unit"] not in limits()["units"]:
        found.append(f"metric {name!r}: unit {metric['Unit']!r} is not a CloudWatch unit")
    if "StorageResolution" in metric and metric["StorageResolution"] not in RESOLUTIONS:
        found.append(f"metric {name!r}: StorageResolution is not 1 or 60")
    value = root.get(name) if type(name) is str else None
    values = value if type(value) is list else [value]
    if not values or len(values) > MAX_VALUES or not all(map(_is_number, values)):
        found.append(f"target member {name!r} is not a number or 1-100 numbers: {value!r}")
    return found


_DIRECTIVE_KEYS = ("Namespace", "Dimensions", "Metrics")
_DEFINITION_KEYS = ("Name", "Unit", "StorageResolution")


def violations(line: str) -> list[str]:
    """Every rule of the specification ``line`` breaks; empty when it is a valid EMF event."""
    try:
        root = json.loads(line)  # raises on anything before or after the object
    except ValueError as exc:
        return [f"not one JSON value: {exc}"]
    if type(root) is not dict:
        return ["the root is not an object"]
    metadata = root.get("_aws")
    if type(metadata) is not dict:
        return ["no _aws object at the root"]
    found = []
    stamp: Any = metadata.get("Timestamp")
    if not _is_number(stamp):
        found.append("_aws.Timestamp is not a number")
    elif not YEAR_2000_MS <= stamp <= YEAR_2100_MS:
        found.append(f"_aws.Timestamp {stamp} is not epoch milliseconds")
    directives = metadata.get("CloudWatchMetrics")
    if type(directives) is not list:
        return [*found, "_aws.CloudWatchMetrics is not an array"]
    for index, directive in enumerate(directives):
        found += _directive(root, directive, f"CloudWatchMetrics[{index}]")
    return found
