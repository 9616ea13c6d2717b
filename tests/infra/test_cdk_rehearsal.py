"""The CDK way rehearsed on the emulator as docs/deploy.md runs it (`make rehearse` runs all).

The real CDK CLI (pinned in infra/cdk/package-lock.json) bootstraps the emulator's account,
deploys the stack (publishing the Chalice zip as an asset to the bootstrap bucket), deploys it
again unchanged, and destroys it; in between, what was created is read back, audited and driven
(devtools/rehearse.py and the devtools/rehearsal_*.py modules it runs).
"""

from __future__ import annotations

import pytest

from devtools.rehearsal_ways import WAYS
from tests.infra.conftest import ROOT, cdk_setup, rehearse


@pytest.mark.slow
def test_cdk_way_bootstraps_deploys_works_redeploys_and_destroys():
    cdk_setup()
    result, lines = rehearse("--way", "cdk")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = [line.split(":", 1)[0] for line in lines if line.startswith("[cdk]")]
    names = ("setup", "deploy", "read back", "drive", "redeploy", "teardown")
    assert steps == [f"[cdk] {step}" for step in names]
    assert lines[-1] == "rehearsal: passed (cdk)"


def test_the_rehearsal_runs_the_cdk_commands_as_docs_deploy_md_shows_them():
    docs = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    way = WAYS["cdk"]
    for command in (way.setup, way.deploy, way.delete):
        assert command[:2] == ["bash", "-c"]
        for line in command[2].splitlines():
            assert f"\n{line}\n" in docs
