"""``python -m devtools.rehearse``: deploy both ways on the emulator, as documented, then check.

    python -m devtools.rehearse [--way package|chalice|cdk|both|all]

``both`` (the default) is the two Chalice ways; ``all`` adds the CDK way, which needs
``make cdk-setup`` first (its environment and the pinned CDK CLI). For each way, in a copy of
the project and against a fresh embedded emulator:

1. deploy with the documented command (``infra/package.sh deploy``;
   ``python -m infra.chalice_deploy deploy --stage dev --sender ...``; ``npx cdk deploy``
   in infra/cdk, after ``npx cdk bootstrap``, which an account needs once);
2. read back what was created: the function's environment, its event source mapping, its
   role's policies, the tables, the queue and the stack's outputs. Each policy is audited by
   parliament and each ARN checked against the resources that exist (:mod:`infra.iam_check`);
3. run the local poller (``python -m devtools.poller``, another process) configured **from the
   deployed mapping and function**, write a user, change and delete it, and wait for the three
   change lines and the one welcome email;
4. run the same deploy again with nothing changed: it must exit 0;
5. tear down with the documented command and list what remains: it must be nothing (but what
   ``cdk bootstrap`` made, which stays for every CDK app of the account).

Prints one line per check; after a failed check only the teardown runs. Exits 1 if any failed.

This module is the command. The ways and their commands are :mod:`devtools.rehearsal_ways`, the
steps :mod:`devtools.rehearsal_steps`; what a step checks is :mod:`devtools.rehearsal_checks`
and :mod:`devtools.rehearsal_drive`; the copy deployed from is :mod:`devtools.project_copy`.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from devtools import cli
from devtools.emulator import Emulator
from devtools.project_copy import project_copy
from devtools.rehearsal_checks import Failed
from devtools.rehearsal_steps import Rehearsal
from devtools.rehearsal_ways import BUCKET, SENDER, WAYS

__all__ = ["main", "parser", "rehearse"]


def rehearse(name: str) -> int:
    """Rehearse one way in a fresh project copy; the number of failed steps.

    After a failed step only the teardown still runs, so that nothing is left behind.
    """
    way = WAYS[name]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="users-stream-rehearsal.") as scratch:
        project = project_copy(Path(scratch) / "project")
        with Emulator() as emulator:
            emulator.client("s3").create_bucket(Bucket=BUCKET)
            emulator.verify_sender(SENDER)
            for step, run in Rehearsal(way, emulator, project).steps():
                if failures and step != "teardown":
                    continue
                try:
                    print(f"[{name}] {step}: {run()}", flush=True)
                except Failed as exc:
                    print(f"[{name}] {step} FAILED: {exc}", flush=True)
                    failures += 1
    return failures


PROG = "python -m devtools.rehearse"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m devtools.rehearse``."""
    built = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    built.add_argument(
        "--way",
        choices=(*WAYS, "both", "all"),
        default="both",
        help="which way to rehearse (both: package and chalice; all: and cdk)",
    )
    return built


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    groups = {"both": ["package", "chalice"], "all": list(WAYS)}
    names = groups.get(args.way, [args.way])
    failures = sum(rehearse(name) for name in names)
    print(f"rehearsal: {'FAILED' if failures else 'passed'} ({', '.join(names)})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
