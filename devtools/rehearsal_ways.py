"""The deployment ways the rehearsal runs: each one's documented commands and its stack.

Each :class:`Way` holds the deploy and teardown commands exactly as docs/deploy.md writes them
(tests/test_docs.py checks the CDK way's lines against that page), the stack the deployment
makes, the settings a user would export for it, and what an account needs once before it.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BUCKET", "SENDER", "STAGE", "WAYS", "Way"]

SENDER = "welcome@example.com"
BUCKET = "my-artifacts-bucket"
STAGE = "dev"


class Way:
    """One deployment way: its documented deploy and teardown commands, and its names.

    ``setup`` runs once per account before the first deploy (``cdk bootstrap``); what it
    creates is not the deployment's, and may remain after the teardown.
    """

    def __init__(
        self,
        name: str,
        deploy: list[str],
        delete: list[str],
        stack: str,
        env: dict[str, str] | None = None,
        setup: Sequence[str] = (),
    ) -> None:
        self.name, self.deploy, self.delete, self.stack = name, deploy, delete, stack
        self.env = env or {}  # settings of this way's run, as a user would export them
        self.setup = list(setup)

    def code(self, project: Path, scratch: Path) -> Path:
        """Where the code the function runs lies (the uploaded zip, or the staged project)."""
        archives = [project / "build" / "deployment.zip"]
        archives += sorted((project / "build" / "cdk.out").glob("asset.*.zip"))
        archive = next((path for path in archives if path.exists()), None)
        if archive is None:
            return project
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(scratch)
        return scratch


# docs/deploy.md's teardown of the CDK way, as written there.
_UNPROTECT_TABLES = (
    "for output in TableName LedgerTableName; do .venv/bin/aws dynamodb update-table"
    " --no-deletion-protection-enabled --output text --query TableDescription.TableName"
    ' --table-name "$(.venv/bin/aws cloudformation describe-stacks --stack-name'
    f" users-stream-{STAGE} --output text --query"
    ' "Stacks[0].Outputs[?OutputKey==\'$output\'].OutputValue")"; done'
)


def _cdk(*arguments: str) -> list[str]:
    """The CDK CLI as docs/deploy.md runs it: ``npx cdk ...`` in infra/cdk."""
    return ["bash", "-c", f"cd infra/cdk && npx cdk {' '.join(arguments)}"]


WAYS = {
    "package": Way(
        "one stack (chalice package)",
        ["bash", "infra/package.sh", "deploy"],
        ["bash", "infra/package.sh", "delete"],
        f"users-stream-{STAGE}",
        # The parameters' other branches: an alarm topic for an address, Time to Live on.
        {"PARAMETER_OVERRIDES": "AlarmEmail=oncall@example.com UsersTtlAttributeName=expires_at"},
    ),
    "chalice": Way(
        "chalice deploy",
        [
            sys.executable,
            "-m",
            "infra.chalice_deploy",
            "deploy",
            "--stage",
            STAGE,
            "--sender",
            SENDER,
        ],
        [
            sys.executable,
            "-m",
            "infra.chalice_deploy",
            "delete",
            "--stage",
            STAGE,
            "--confirm",
            f"users-stream-{STAGE}-tables",
        ],
        f"users-stream-{STAGE}-tables",
    ),
    "cdk": Way(
        "CDK (infra/cdk)",
        _cdk("deploy", "--require-approval never", f"--parameters WelcomeEmailSender={SENDER}"),
        # Deletion protection off first, as docs/deploy.md says, then destroy.
        ["bash", "-c", f"{_UNPROTECT_TABLES}\n{_cdk('destroy', '--force')[2]}"],
        f"users-stream-{STAGE}",
        setup=_cdk("bootstrap"),
    ),
}
