"""Copy exactly what Chalice should package into a clean directory.

    python -m infra.staging DEST

Chalice zips every file under ``chalicelib/`` - including ``__pycache__`` bytecode that tests
and editors leave behind - so packaging and deploying run on a staged copy holding only
``app.py``, ``requirements.txt``, ``chalicelib/``, ``vendor/`` if present, and the ``.chalice``
settings and deployment records.

``chalicelib/`` is staged with bytecode compiled from the staged source itself, as
``unchecked-hash`` ``.pyc`` files (PEP 552): Lambda's ``/var/task`` is read-only, so without
them every cold start compiles the modules again (docs/benchmarks.md, figure 3), and a
timestamp ``.pyc`` would not survive the zip's timestamps. An unchecked ``.pyc`` is never
compared with its source, which is safe only because source and bytecode ship together and
never change apart: the working tree never gets one. A runtime of another Python version
ignores them (their file names carry the version) and compiles, as before.

``--for-package`` stages for the one-stack build instead: its role comes from
infra/consumer.yaml, so the settings that the ``chalice deploy`` way writes into
``.chalice/config.json`` (its own policy file, ``autogen_policy``) are left out of the staged
copy, together with Chalice's deployment records. Running either way never changes what the
other builds.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import py_compile
import shutil
from collections.abc import Sequence
from pathlib import Path

from devtools import cli

__all__ = ["PROJECT", "compile_bytecode", "stage_project"]

PROJECT = Path(__file__).resolve().parent.parent
_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
# Role settings of the `chalice deploy` way; the one-stack template brings its own role.
ROLE_SETTINGS = ("autogen_policy", "iam_policy_file", "iam_role_arn", "manage_iam_role")


def _without_role_settings(config: dict[str, object]) -> dict[str, object]:
    cleaned = {k: v for k, v in config.items() if k not in ROLE_SETTINGS}
    stages = config.get("stages")
    if isinstance(stages, dict):
        cleaned["stages"] = {
            name: {k: v for k, v in stage.items() if k not in ROLE_SETTINGS}
            for name, stage in stages.items()
        }
    return cleaned


def compile_bytecode(package: Path) -> None:
    """Compile every module of ``package`` to an ``unchecked-hash`` ``.pyc`` beside it (see
    the module docstring)."""
    compiled = compileall.compile_dir(
        str(package),
        ddir=package.name,  # not the staging path: the same bytes from every staged copy
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise ValueError(f"{package} does not compile")
    for pyc in package.rglob("*.pyc"):  # dated as their source: the same zip from every copy
        stat = Path(importlib.util.source_from_cache(str(pyc))).stat()
        os.utime(pyc, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def stage_project(project: Path, destination: Path, *, for_package: bool = False) -> Path:
    """Copy the packaged parts of ``project`` into ``destination`` (created); return it."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(project / name, destination / name)
    for name in ("chalicelib", "vendor"):
        if (project / name).is_dir():
            shutil.copytree(project / name, destination / name, ignore=_BYTECODE)
    if (destination / "chalicelib").is_dir():
        compile_bytecode(destination / "chalicelib")
    settings = destination / ".chalice"
    settings.mkdir(exist_ok=True)
    if for_package:
        config = json.loads((project / ".chalice" / "config.json").read_text(encoding="utf-8"))
        (settings / "config.json").write_text(
            json.dumps(_without_role_settings(config), indent=2) + "\n", encoding="utf-8"
        )
        return destination
    for path in (project / ".chalice").glob("*.json"):  # config.json, policy-<stage>.json
        shutil.copy2(path, settings / path.name)
    if (project / ".chalice" / "deployed").is_dir():
        shutil.copytree(project / ".chalice" / "deployed", settings / "deployed")
    return destination


PROG = "python -m infra.staging"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m infra.staging``."""
    built = cli.parser(PROG, __doc__.split("\n\n")[0] if __doc__ else None)
    built.add_argument("destination", type=Path, help="where to put the staged copy")
    built.add_argument("--project-dir", type=Path, default=PROJECT, help="the Chalice project")
    built.add_argument(
        "--for-package",
        action="store_true",
        help="for the one-stack build: leave out the `chalice deploy` way's role settings",
    )
    return built


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    print(stage_project(args.project_dir, args.destination, for_package=args.for_package))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, prog=PROG))
