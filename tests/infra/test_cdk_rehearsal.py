"""The CDK way's commands in the rehearsal are those docs/deploy.md shows.

`make rehearse` (tests/devtools/test_rehearse.py) runs them: the real CDK CLI (pinned in
infra/cdk/package-lock.json) bootstraps the emulator's account, deploys the stack (publishing
the Chalice zip as an asset to the bootstrap bucket), deploys it again unchanged, and destroys
it; in between, what was created is read back, audited and driven (devtools/rehearse.py and the
devtools/rehearsal_*.py modules it runs).
"""

from __future__ import annotations

from devtools.rehearsal_ways import WAYS
from tests.infra.conftest import ROOT


def test_the_rehearsal_runs_the_cdk_commands_as_docs_deploy_md_shows_them():
    docs = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    way = WAYS["cdk"]
    for command in (way.setup, way.deploy, way.delete):
        assert command[:2] == ["bash", "-c"]
        for line in command[2].splitlines():
            assert f"\n{line}\n" in docs
