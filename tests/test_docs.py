"""Every command in README.md and docs/*.md runs, as written, in a test.

Fenced ``bash`` blocks say how they are run with a marker on the line before them:

- ``<!-- doc-test: emulator NAME -->``: the blocks of one NAME, from every document in order,
  run as one bash script in a copy of the project, every AWS client pointed at a fresh
  emulator in another process (the deploy guides end with their teardown);
- ``<!-- doc-test: serve -->``: run against a live ``make run`` pipeline, its address put where
  the text says ``http://127.0.0.1:8000``;
- ``<!-- doc-test: offline -->``: run as written in the project, offline;
- ``<!-- doc-test: dry-run -->``: each command checked without running it (below);
- ``<!-- doc-test: rehearsed -->``: each line is one the deploy rehearsal
  (``python -m devtools.rehearse``, run by ``make test``) runs, exactly: the CDK way's
  bootstrap, deploy and teardown, which need the CDK CLI and run there.

Commands quoted inline (in backticks) are dry-run: ``make X`` with ``make -n``; ``python -m M``
with ``--help``, and every flag it is given must be one its help lists; ``aws SERVICE OP`` against
botocore's service model (the operation exists, every flag is one of its parameters or a global
option); ``infra/package.sh X`` against the script's usage line; ``npx cdk X`` against the help
of infra/cdk's pinned CDK CLI for X. A block without a marker, or an
inline command of no known kind, fails the test: nothing documented can drift from what runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from devtools.project_copy import project_copy
from tests.devtools.processes import Running, _env, _json

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!-- doc-test: (emulator|serve|offline|dry-run|rehearsed)(?: ([\w-]+))? -->")
FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")  # may wrap across a line of the source
# Inline code that is a command, by how it starts (after any VAR=value prefixes).
COMMAND_START = re.compile(
    r"^(?:[A-Z_]+=\S+ )*"
    r"(make |python -m |\.venv/bin/|aws |infra/package\.sh|bash infra/|bandit |pip-audit |npx cdk )"
)
DOCUMENTED_ENDPOINT = "http://127.0.0.1:8000"  # what the docs say `make run` listens on
AWS_GLOBAL_OPTIONS = {"--endpoint-url", "--region", "--query", "--output", "--profile"}


class Block(NamedTuple):
    document: Path
    line: int
    kind: str
    name: str
    text: str

    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.fullmatch(before.strip())
            kind, name = (marker[1], marker[2] or "") if marker else ("", "")
            found.append(Block(document, line, kind, name, match[1]))
    return found


def inline_commands() -> list[tuple[str, str]]:
    """(where, command) for each inline code span outside fenced blocks that is a command."""
    found = []
    for document in DOCUMENTS:
        text = FENCE.sub(lambda m: "\n" * m[0].count("\n"), document.read_text(encoding="utf-8"))
        for match in INLINE.finditer(text):
            span = " ".join(match[1].split())
            if COMMAND_START.match(span) and not span.endswith(("/", "...")):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{document.relative_to(ROOT)}:{line}", span))
    return found


def test_every_bash_block_says_how_it_is_tested():
    unmarked = [b.where() for b in blocks() if not b.kind]
    assert unmarked == []


def test_the_marker_grammar_is_what_this_module_runs():
    kinds = {b.kind for b in blocks()}
    assert kinds <= {"emulator", "serve", "offline", "dry-run", "rehearsed"}
    assert all(b.name for b in blocks() if b.kind == "emulator")


# -- dry runs -------------------------------------------------------------------------------


PLACEHOLDER = re.compile(r"<[^<>\n]+>")  # <OnFailureQueueUrl output>, <the stack's StreamArn>
# Tools from requirements-dev.txt quoted in the docs, checked against their own --help.
VENV_TOOLS = frozenset({"bandit", "pip-audit", "chalice", "ruff", "mypy", "cfn-lint"})


def _words(command: str) -> list[str]:
    """The command's words, placeholders filled in, leading VAR=value assignments dropped."""
    words = shlex.split(PLACEHOLDER.sub("placeholder", command), comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words.pop(0)
    return words


def _lines(script: str) -> Iterator[str]:
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line.strip()


def dry_run(command: str) -> str | None:
    """Why ``command`` would not run as written, or None."""
    try:
        words = _words(command)
    except ValueError as exc:
        return f"not a shell command ({exc})"
    if not words:
        return None
    program = words[0].removeprefix(".venv/bin/")
    if program == "make":
        result = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True)
        return None if result.returncode == 0 else f"make -n failed: {result.stderr[-200:]!r}"
    if program in ("python", "python3") and len(words) > 2 and words[1] == "-m":
        return _python_module(words[2], words[3:])
    if program == "aws":
        return _aws(words[1:])
    if program in ("infra/package.sh",) or words[:2] == ["bash", "infra/package.sh"]:
        action = words[1] if program == "infra/package.sh" else words[2]
        usage = (ROOT / "infra" / "package.sh").read_text(encoding="utf-8")
        return None if f"    {action})" in usage else f"infra/package.sh has no {action}"
    if program in VENV_TOOLS:
        return _by_help([str(BIN / program)], words[1:], flag_prefix="-")
    if words[:2] == ["npx", "cdk"] and len(words) > 2:
        return _cdk(words[2], words[3:])
    return f"no dry run for {program}"


def _cdk(subcommand: str, arguments: list[str]) -> str | None:
    """The CDK CLI of infra/cdk (``npx cdk``, as the docs run it there): its help for
    ``subcommand`` must exist (the CLI answers any unknown one with its general usage, exit 0)
    and list every flag."""
    result = subprocess.run(
        ["npx", "cdk", subcommand, "--help"],
        cwd=ROOT / "infra" / "cdk",
        capture_output=True,
        text=True,
    )
    if not result.stdout.startswith(f"cdk {subcommand} "):
        return f"npx cdk has no {subcommand}: {(result.stdout + result.stderr)[:200]!r}"
    return _by_help(["npx", "cdk", subcommand], arguments, cwd=ROOT / "infra" / "cdk")


def _python_module(module: str, arguments: list[str]) -> str | None:
    """Parse ``arguments`` with the module's own parser (``parser()``), as its main() would."""
    import importlib

    try:
        loaded = importlib.import_module(module)
        build = (
            getattr(loaded, "parser", None) or importlib.import_module(f"{module}.__main__").parser
        )
    except (ImportError, AttributeError) as exc:
        return f"python -m {module}: no parser() to check its command line against ({exc})"
    if not arguments:
        return None  # the command named in prose: its parser exists
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build().parse_args(arguments)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return f"python -m {module} refuses it: {errors.getvalue().strip()[-300:]}"
    except Exception as exc:  # a parser that raises its own usage error (devtools.cli)
        return f"python -m {module} refuses it: {exc}"
    return None


def _by_help(
    command: list[str], arguments: list[str], flag_prefix: str = "--", cwd: Path = ROOT
) -> str | None:
    """Why ``command`` would refuse ``arguments``: its ``--help`` fails or lists not a flag."""
    result = subprocess.run([*command, "--help"], cwd=cwd, capture_output=True, text=True)
    flags = [a.split("=", 1)[0] for a in arguments if a.startswith(flag_prefix)]
    unknown = [flag for flag in flags if not re.search(rf"{re.escape(flag)}\b", result.stdout)]
    return f"{' '.join(command)} has no {unknown}" if result.returncode or unknown else None


def _customization_flags(service: str, operation: str) -> set[str] | None:
    """The flags of an AWS CLI customization (not in botocore's models), from awscli itself."""
    from awscli.customizations.cloudformation.deploy import DeployCommand
    from awscli.customizations.cloudformation.package import PackageCommand
    from awscli.customizations.s3.subcommands import MbCommand

    commands = {
        ("cloudformation", "deploy"): DeployCommand,
        ("cloudformation", "package"): PackageCommand,
        ("s3", "mb"): MbCommand,
    }
    command = commands.get((service, operation))
    return None if command is None else {"--" + a["name"] for a in command.ARG_TABLE}


def _aws(words: list[str]) -> str | None:
    import botocore.session
    from botocore import xform_name
    from botocore.exceptions import UnknownServiceError

    service, operation = words[0], words[1]
    flags = {w.split("=", 1)[0] for w in words[2:] if w.startswith("--")}
    custom = _customization_flags(service, operation)
    if custom is not None:
        unknown = sorted(flags - custom - AWS_GLOBAL_OPTIONS)
        return f"aws {service} {operation} has no {unknown}" if unknown else None
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return f"aws has no service {service}"
    names = {xform_name(n, "-"): n for n in model.operation_names}
    if operation not in names:
        return f"aws {service} has no operation {operation}"
    shape = model.operation_model(names[operation]).input_shape
    members = {"--" + xform_name(m, "-") for m in (shape.members if shape else {})}
    unknown = sorted(
        flag
        for flag in flags - AWS_GLOBAL_OPTIONS
        if flag not in members and flag.replace("--no-", "--", 1) not in members
    )
    return f"aws {service} {operation} has no {unknown}" if unknown else None


@pytest.mark.parametrize(("where", "command"), inline_commands())
def test_inline_command_runs_as_written(where, command):
    assert (where, dry_run(command)) == (where, None)


def _rehearsed_lines() -> set[str]:
    from devtools.rehearsal_ways import WAYS

    lines: set[str] = set()
    for way in WAYS.values():
        for command in (way.setup, way.deploy, way.delete):
            if command[:2] == ["bash", "-c"]:
                lines.update(line.strip() for line in command[2].splitlines())
    return lines


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.kind == "rehearsed"], ids=lambda b: b.where()
)
def test_rehearsed_block_is_what_the_rehearsal_runs(block):
    assert [line for line in _lines(block.text) if line not in _rehearsed_lines()] == []


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.kind == "dry-run"], ids=lambda b: b.where()
)
def test_dry_run_block(block):
    assert [(line, dry_run(line)) for line in _lines(block.text) if dry_run(line)] == []


# -- blocks that run ------------------------------------------------------------------------


def _project(tmp_path: Path) -> Path:
    return project_copy(tmp_path / "project")  # with .venv, as the docs' commands name it


def _scenario(name: str) -> str:
    parts = [b for b in blocks() if b.kind == "emulator" and b.name == name]
    return "\n".join(f"# {b.where()}\n{b.text}" for b in parts)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted({b.name for b in blocks() if b.kind == "emulator"}))
def test_emulator_scenario_runs_as_written(name, emulator_process, tmp_path):
    project = _project(tmp_path)
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": emulator_process,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }
    script = "set -euo pipefail\n" + _scenario(name)
    result = subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (
        f"{script}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.kind == "offline"], ids=lambda b: b.where()
)
def test_offline_block_runs_as_written(block):
    if shutil.which("make") is None:
        pytest.fail("make is missing: the documented commands need it")
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block.text],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.kind == "serve"], ids=lambda b: b.where()
)
def test_serve_block_runs_as_written_against_make_run(block):
    pipeline = Running(["make", "-s", "run", "PORT=0", "RUN_ARGS=--json"], _env(), group=True)
    try:
        banner = _json(pipeline.wait_for(lambda line: _json(line).get("kind") == "serving", 120))
        script = block.text.replace(DOCUMENTED_ENDPOINT, banner["endpoint_url"])
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        # What was written reached the handler of the running pipeline.
        pipeline.wait_for(lambda line: _json(line).get("message") == "change", 60)
    finally:
        pipeline.interrupt()
