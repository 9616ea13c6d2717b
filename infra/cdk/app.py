"""The CDK way: ``python infra/cdk/app.py`` (what ``make cdk-synth`` and ``cdk synth`` run).

Synthesizes the one stack of infra/cdk/stack.py into ``build/cdk.out`` (or ``$CDK_OUTDIR``,
which the CDK CLI sets), offline, and checks it with cdk-nag's AwsSolutions rules: a finding
that infra/cdk/nag.py does not acknowledge fails the synthesis. Context: ``stage`` (the Chalice
stage, default ``dev``), ``region`` (default ``$CDK_DEFAULT_REGION``, ``$AWS_DEFAULT_REGION``
or us-east-1), e.g. ``cdk synth -c stage=prod``, and ``acknowledge=false`` (acknowledge no
cdk-nag finding: the tests show that each acknowledgement is still needed).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT))  # for infra.*; after the staged Chalice project, which comes first
# jsii (the CDK's Node.js bridge) prints a banner about Node 20's end of life on every run;
# Node 20 is what this project's machines and CI have, and the CDK runs on it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402 - after the path above
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.cdk.nag import acknowledge  # noqa: E402
from infra.cdk.stack import users_stream_stack  # noqa: E402

DEFAULT_OUTDIR = ROOT / "build" / "cdk.out"


def _region(app: cdk.App) -> str:
    context = app.node.try_get_context("region")
    return str(
        context
        or os.environ.get("CDK_DEFAULT_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


def main() -> int:
    """Synthesize; 1 (with one line after CDK's report) if cdk-nag or the synthesis fails."""
    # Resolved now: the CLI passes it relative to infra/cdk, and the synthesis runs elsewhere.
    outdir = str(Path(os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR).resolve())
    app = cdk.App(outdir=outdir)
    stage = str(app.node.try_get_context("stage") or "dev")
    region = _region(app)
    # Chalice's packager makes a botocore client on the way (no call): it needs a region.
    os.environ["AWS_DEFAULT_REGION"] = region
    with tempfile.TemporaryDirectory(prefix="users-stream-cdk.") as work:
        os.chdir(work)  # the construct writes its chalice.out/ into the working directory
        stack = users_stream_stack(app, stage, region, Path(work))
        if str(app.node.try_get_context("acknowledge")).lower() != "false":
            acknowledge(stack)
        # Acknowledged findings are written into each resource's Metadata (cdk_nag), with why.
        checks = AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True)
        cdk.Validations.of(app).add_plugins(checks)
        try:
            app.synth()
        except RuntimeError as exc:
            print(f"cdk synth failed: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
    print(f"synthesized {stage} ({region}) into {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
