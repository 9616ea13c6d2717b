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
from devtools.rehearsal_checks import Deployed, Failed, read_back
from devtools.rehearsal_drive import drive

__all__ = ["SENDER", "main", "project_copy"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SENDER = "welcome@example.com"
BUCKET = "my-artifacts-bucket"
STAGE = "dev"
_PROJECT_PARTS = ("app.py", "requirements.txt", "chalicelib", "infra", "devtools", ".chalice")


def project_copy(destination: Path) -> Path:
    """A copy of the project's deployable parts and tools, without bytecode or records."""
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.pyc", "deployed", "policy-*.json", "node_modules", "cdk.context.json"
    )
    destination.mkdir(parents=True)
    for part in _PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            shutil.copy2(source, destination / part)
    # The environments and the CDK CLI the documented commands name, shared rather than copied.
    for tool in (".venv", ".venv-cdk", "infra/cdk/node_modules"):
        if (ROOT / tool).exists():
            (destination / tool).symlink_to(ROOT / tool)
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


def _steps(way: Way, emulator: Emulator, project: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    env = {
        **_environment(emulator),
        "S3_BUCKET": BUCKET,
        "WELCOME_EMAIL_SENDER": SENDER,
        "CONFIRM": way.stack,
        **way.env,
    }
    state: dict[str, Deployed] = {}
    baseline: dict[str, list[str]] = {}  # what the account holds before the deployment

    def setup() -> str:
        _run(way.setup, project, env)
        baseline.update(leftovers(emulator))
        return f"{way.setup[-1]} (stays: {', '.join(sorted(baseline))})"

    def deploy() -> str:
        _run(way.deploy, project, env)
        return " ".join(way.deploy[-6:] if way.name == "chalice deploy" else way.deploy[-1:])

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
        remaining = {
            kind: [name for name in names if name not in baseline.get(kind, [])]
            for kind, names in leftovers(emulator).items()
        }
        remaining = {kind: names for kind, names in remaining.items() if names}
        if remaining:
            raise Failed(f"left behind after teardown: {json.dumps(remaining)}")
        return (
            "nothing left: stacks, tables, functions, mappings, layers, roles, policies, queues, "
            "log groups, topics, subscriptions, alarms"
        )

    if way.setup:
        yield "setup", setup
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
