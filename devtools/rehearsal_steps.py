"""One way's rehearsal on one emulator, as steps, each ending in one line or a failed check.

The steps are setup (if the way needs one), deploy, read back, drive, redeploy and teardown.
Each runs the way's documented command (or checks what it made) with every AWS client pointed
at the emulator, and returns one line saying what it saw; a failed check raises
:class:`~devtools.rehearsal_checks.Failed`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from devtools.emulator import FAKE_CREDENTIALS, Emulator
from devtools.inventory import leftovers
from devtools.rehearsal_checks import Deployed, Failed, read_back
from devtools.rehearsal_drive import drive
from devtools.rehearsal_ways import BUCKET, SENDER, Way

__all__ = ["Rehearsal"]

BIN = Path(sys.executable).parent


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


class Rehearsal:
    """The steps of rehearsing ``way`` on ``emulator``, in ``project`` (a copy), in order."""

    def __init__(self, way: Way, emulator: Emulator, project: Path) -> None:
        self.way, self.emulator, self.project = way, emulator, project
        self.env = {
            **_environment(emulator),
            "S3_BUCKET": BUCKET,
            "WELCOME_EMAIL_SENDER": SENDER,
            "CONFIRM": way.stack,
            **way.env,
        }
        self.deployed: Deployed | None = None  # what the read back found
        self.baseline: dict[str, list[str]] = {}  # what the account holds before the deployment

    def steps(self) -> Iterator[tuple[str, Callable[[], str]]]:
        """Each step's name and the call that runs it (one line back, or :class:`Failed`)."""
        if self.way.setup:
            yield "setup", self.setup
        yield "deploy", self.deploy
        yield "read back", self.check
        yield "drive", self.run_poller
        yield "redeploy", self.redeploy
        yield "teardown", self.teardown

    def setup(self) -> str:
        _run(self.way.setup, self.project, self.env)
        self.baseline.update(leftovers(self.emulator))
        return f"{self.way.setup[-1]} (stays: {', '.join(sorted(self.baseline))})"

    def deploy(self) -> str:
        way = self.way
        _run(way.deploy, self.project, self.env)
        return " ".join(way.deploy[-6:] if way.name == "chalice deploy" else way.deploy[-1:])

    def check(self) -> str:
        self.deployed = read_back(self.emulator, self.way.stack)
        return self.deployed.summary()

    def run_poller(self) -> str:
        assert self.deployed is not None, "read back first"  # a failed step skips to teardown
        with tempfile.TemporaryDirectory(prefix="users-stream-code.") as scratch:
            code = self.way.code(self.project, Path(scratch))
            return drive(self.emulator, self.deployed, code, self.env)

    def redeploy(self) -> str:
        cloudformation = self.emulator.client("cloudformation")

        def events() -> int:
            described = cloudformation.describe_stack_events(StackName=self.way.stack)
            return len(described["StackEvents"])

        before = events()
        _run(self.way.deploy, self.project, self.env)
        if events() != before:
            raise Failed("the unchanged re-run updated the stack")
        return "re-run with nothing changed exits 0 and leaves the stack untouched"

    def teardown(self) -> str:
        _run(self.way.delete, self.project, self.env)
        remaining = {
            kind: [name for name in names if name not in self.baseline.get(kind, [])]
            for kind, names in leftovers(self.emulator).items()
        }
        remaining = {kind: names for kind, names in remaining.items() if names}
        if remaining:
            raise Failed(f"left behind after teardown: {json.dumps(remaining)}")
        return (
            "nothing left: stacks, tables, functions, mappings, layers, roles, policies, queues, "
            "log groups, topics, subscriptions, alarms"
        )
