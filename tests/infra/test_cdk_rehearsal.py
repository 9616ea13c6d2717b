"""The CDK way rehearsed on the emulator as docs/deploy.md runs it (`make rehearse` runs all).

The real CDK CLI (pinned in infra/cdk/package-lock.json) bootstraps the emulator's account,
deploys the stack (publishing the Chalice zip as an asset to the bootstrap bucket), deploys it
again unchanged, and destroys it; in between, what was created is read back, audited and driven
(devtools/rehearse.py, devtools/rehearsal_checks.py).
"""

from __future__ import annotations

import pytest

from tests.infra.conftest import ROOT, cdk_synth, rehearse

pytestmark = pytest.mark.slow


def test_cdk_way_bootstraps_deploys_works_redeploys_and_destroys(tmp_path):
    assert cdk_synth(ROOT, tmp_path / "cdk.out").returncode == 0  # `make cdk-setup` done
    result, lines = rehearse("--way", "cdk")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = [line.split(":", 1)[0] for line in lines if line.startswith("[cdk]")]
    names = ("setup", "deploy", "read back", "drive", "redeploy", "teardown")
    assert steps == [f"[cdk] {step}" for step in names]
    assert lines[-1] == "rehearsal: passed (cdk)"
