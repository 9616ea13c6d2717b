"""Copy exactly what Chalice should package into a clean directory.

    python -m infra.staging DEST

Chalice zips every file under ``chalicelib/`` - including ``__pycache__`` bytecode that tests
and editors leave behind - so packaging and deploying run on a staged copy holding only
``app.py``, ``requirements.txt``, ``chalicelib/`` (without bytecode), ``vendor/`` if present,
and the ``.chalice`` settings and deployment records.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PROJECT", "stage_project"]

PROJECT = Path(__file__).resolve().parent.parent
_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def stage_project(project: Path, destination: Path) -> Path:
    """Copy the packaged parts of ``project`` into ``destination`` (created); return it."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(project / name, destination / name)
    for name in ("chalicelib", "vendor"):
        if (project / name).is_dir():
            shutil.copytree(project / name, destination / name, ignore=_BYTECODE)
    settings = destination / ".chalice"
    settings.mkdir(exist_ok=True)
    for path in (project / ".chalice").glob("*.json"):  # config.json, policy-<stage>.json
        shutil.copy2(path, settings / path.name)
    if (project / ".chalice" / "deployed").is_dir():
        shutil.copytree(project / ".chalice" / "deployed", settings / "deployed")
    return destination


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.staging", description=__doc__)
    parser.add_argument("destination", type=Path)
    parser.add_argument("--project-dir", type=Path, default=PROJECT)
    args = parser.parse_args(argv)
    print(stage_project(args.project_dir, args.destination))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
