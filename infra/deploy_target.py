"""What one deployment of the ``chalice deploy`` way is: its stage, names and mapping settings.

Shared by the steps (:mod:`infra.deploy_steps`) and the command (:mod:`infra.chalice_deploy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cfn import load_template
from infra.merge import OVERLAY

__all__ = [
    "FUNCTION",
    "MappingSettings",
    "Target",
    "consumer_default",
    "say",
    "tags",
]

FUNCTION = "handle_user_changes"  # the handler's name in app.py


def consumer_default(parameter: str) -> int:
    return int(load_template(OVERLAY)["Parameters"][parameter]["Default"])


@dataclass(frozen=True)
class MappingSettings:
    """What the one-stack deployment sets on the mapping; defaults from infra/consumer.yaml."""

    maximum_retry_attempts: int
    maximum_record_age_in_seconds: int
    parallelization_factor: int

    @classmethod
    def defaults(cls) -> MappingSettings:
        return cls(
            consumer_default("MaximumRetryAttempts"),
            consumer_default("MaximumRecordAgeInSeconds"),
            consumer_default("ParallelizationFactor"),
        )


@dataclass(frozen=True)
class Target:
    """One stage of the app in one project directory."""

    project: Path
    stage: str

    @property
    def config_path(self) -> Path:
        return self.project / ".chalice" / "config.json"

    @property
    def policy_file(self) -> str:
        return f"policy-{self.stage}.json"

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8"))
        return loaded

    @property
    def app_name(self) -> str:
        return str(self.config()["app_name"])

    @property
    def function_name(self) -> str:
        return f"{self.app_name}-{self.stage}-{FUNCTION}"

    @property
    def stack_name(self) -> str:
        return f"{self.app_name}-{self.stage}-tables"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def deployed(self, resource_type: str) -> dict[str, Any] | None:
        """Chalice's record of the last deployment of this stage, for one resource type."""
        record = self.project / ".chalice" / "deployed" / f"{self.stage}.json"
        if not record.exists():
            return None
        resources = json.loads(record.read_text(encoding="utf-8"))["resources"]
        found = [r for r in resources if r["resource_type"] == resource_type]
        return dict(found[0]) if found else None


def say(message: str) -> None:
    print(f"[chalice-deploy] {message}", flush=True)


def tags(stage: str) -> dict[str, str]:
    """The tags every resource of a stage's deployment carries (as the stack's, infra/*.yaml),
    whichever way deploys it."""
    return {"project": "users-stream", "stage": stage}
