"""The deploy rehearsal as docs/deploy.md runs it: `make rehearse`, every way on the emulator."""

from __future__ import annotations

import subprocess

import pytest

from tests.infra.conftest import ROOT, cdk_setup

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")

STEPS = ("deploy", "read back", "drive", "redeploy", "teardown")


@pytest.mark.slow
def test_make_rehearse_deploys_every_way_works_redeploys_and_tears_down_to_nothing():
    cdk_setup()  # the CDK CLI, as make's own cdk-setup would install it
    result = subprocess.run(
        ["make", "-s", "rehearse"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(("[", "rehearsal"))]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for way, names in (("package", STEPS), ("chalice", STEPS), ("cdk", ("setup", *STEPS))):
        steps = [line.split(":", 1)[0] for line in lines if line.startswith(f"[{way}]")]
        assert steps == [f"[{way}] {step}" for step in names]
    assert lines[-1] == "rehearsal: passed (package, chalice, cdk)"
