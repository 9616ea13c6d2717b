"""``python -m devtools.rehearse``: deploy both ways on the emulator, as documented, then check.

    python -m devtools.rehearse [--way package|chalice|both]

For each way, in a copy of the project and against a fresh embedded emulator:

1. deploy with the documented command (``infra/package.sh deploy``;
   ``python -m infra.chalice_deploy deploy --stage dev --sender ...``);
2. read back what was created: the function's environment, its event source mapping, its
   role's policies, the tables, the queue and the stack's outputs. Each policy is audited by
   parliament and each ARN checked against the resources that exist (:mod:`infra.iam_check`);
3. run the local poller (``python -m devtools.poller``, another process) configured **from the
   deployed mapping and function**, write a user, change and delete it, and wait for the three
   change lines and the one welcome email;
4. run the same deploy again with nothing changed: it must exit 0;
5. tear down with the documented command and list what remains: it must be nothing.

Prints one line per check; after a failed check only the teardown runs. Exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from devtools import cli
from devtools.emulator import FAKE_CREDENTIALS, Emulator
from devtools.inventory import leftovers
from devtools.rehearsal_checks import Deployed, Failed, drive, read_back

__all__ = ["SENDER", "main", "project_copy"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SENDER = "welcome@example.com"
BUCKET = "my-artifacts-bucket"
STAGE = "dev"
_PROJECT_PARTS = ("app.py", "requirements.txt", "chalicelib", "infra", "devtools", ".chalice")


def project_copy(destination: Path) -> Path:
    """A copy of the project's deployable parts and tools, without bytecode or records."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "deployed", "policy-*.json")
    destination.mkdir(parents=True)
    for part in _PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            shutil.copy2(source, destination / part)
    return destination


def _environment(emulator: Emulator) -> dict[str, str]:
    """This process's environment, every AWS client pointed at the emulator."""
    env = {
        **os.environ,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_DEFAULT_REGION": emulator.region,
        "AWS_REGION": emulator.region,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "BIN": str(BIN),
    }
    env.pop("PYTHONPATH", None)
    return env


def _run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    """Run a documented command as written; :class:`Failed` with its last line if it fails."""
    shown = " ".join(command)
    result = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
        raise Failed(f"`{shown}` exited {result.returncode}: {last[0]}")


class Way:
    """One deployment way: its documented deploy and teardown commands, and its names."""

    def __init__(
        self,
        name: str,
        deploy: list[str],
        delete: list[str],
        stack: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.deploy, self.delete, self.stack = name, deploy, delete, stack
        self.env = env or {}  # settings of this way's run, as a user would export them

    def code(self, project: Path, scratch: Path) -> Path:
        """Where the code the function runs lies (the uploaded zip, or the staged project)."""
        archive = project / "build" / "deployment.zip"
        if not archive.exists():
            return project
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(scratch)
        return scratch


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
}


def _steps(way: Way, emulator: Emulator, project: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    env = {
        **_environment(emulator),
        "S3_BUCKET": BUCKET,
        "WELCOME_EMAIL_SENDER": SENDER,
        "CONFIRM": way.stack,
        **way.env,
    }
    state: dict[str, Deployed] = {}

    def deploy() -> str:
        _run(way.deploy, project, env)
        return " ".join(way.deploy[-6:] if way.name == "chalice deploy" else way.deploy)

    def check() -> str:
        state["deployed"] = read_back(emulator, way.stack)
        return state["deployed"].summary()

    def run_poller() -> str:
        with tempfile.TemporaryDirectory(prefix="users-stream-code.") as scratch:
            code = way.code(project, Path(scratch))
            return drive(emulator, state["deployed"], code, env)

    def redeploy() -> str:
        cloudformation = emulator.client("cloudformation")

        def events() -> int:
            return len(cloudformation.describe_stack_events(StackName=way.stack)["StackEvents"])

        before = events()
        _run(way.deploy, project, env)
        if events() != before:
            raise Failed("the unchanged re-run updated the stack")
        return "re-run with nothing changed exits 0 and leaves the stack untouched"

    def teardown() -> str:
        _run(way.delete, project, env)
        remaining = leftovers(emulator)
        if remaining:
            raise Failed(f"left behind after teardown: {json.dumps(remaining)}")
        return (
            "nothing left: stacks, tables, functions, mappings, layers, roles, policies, queues, "
            "log groups, topics, subscriptions, alarms"
        )

    yield "deploy", deploy
    yield "read back", check
    yield "drive", run_poller
    yield "redeploy", redeploy
    yield "teardown", teardown


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
            for step, run in _steps(way, emulator, project):
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
        "--way", choices=(*WAYS, "both"), default="both", help="which way to rehearse (both)"
    )
    return built


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = list(WAYS) if args.way == "both" else [args.way]
    failures = sum(rehearse(name) for name in names)
    print(f"rehearsal: {'FAILED' if failures else 'passed'} ({', '.join(names)})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
