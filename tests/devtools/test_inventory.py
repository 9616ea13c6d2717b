"""What the emulator holds: a resource moto silently skipped is named, and leftovers listed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devtools.emulator import Emulator
from devtools.inventory import MissingResources, leftovers, not_created

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")


def create(emulator: Emulator, resources: dict[str, Any]) -> str:
    name = f"inventory-{uuid.uuid4().hex[:8]}"
    emulator.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps({"Resources": resources})
    )
    return name


def test_a_skipped_alarm_is_named_and_a_skipped_resource_of_another_type_fails():
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    }
    queue = {"Type": "AWS::SQS::Queue", "Properties": {}}
    unknown = {"Type": "AWS::CodeArtifact::Domain", "Properties": {"DomainName": "d"}}
    with Emulator() as emulator:
        known = create(emulator, {"Alarm": alarm, "Queue": queue})
        assert not_created(emulator, known, {}) == [("Alarm", "AWS::CloudWatch::Alarm")]
        other = create(emulator, {"Queue": queue, "Domain": unknown})
        with pytest.raises(MissingResources, match="AWS::CodeArtifact::Domain"):
            not_created(emulator, other, {})
        assert "queues" in leftovers(emulator)
