"""The deploy rehearsal (`make rehearse`): both ways, as documented, on the emulator."""

from __future__ import annotations

import pytest

from tests.infra.conftest import rehearse

pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+:UserWarning")


@pytest.mark.slow
def test_both_ways_deploy_work_redeploy_and_tear_down_to_nothing():
    result, lines = rehearse()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for way in ("package", "chalice"):
        steps = [line.split(":", 1)[0] for line in lines if line.startswith(f"[{way}]")]
        assert steps == [
            f"[{way}] {step}" for step in ("deploy", "read back", "drive", "redeploy", "teardown")
        ]
    assert lines[-1] == "rehearsal: passed (package, chalice)"
