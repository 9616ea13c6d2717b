"""Figure 5: the deployment package, built by the real Chalice CLI.

``chalice package`` is run on this project, staged by :func:`infra.staging.stage_project` (a
clean copy: Chalice would otherwise zip the ``__pycache__`` that tests leave in
``chalicelib/``), and on a bare ``chalice new-project`` app made with the same CLI in a
temporary directory. The zips are what Lambda would load, so the cold start benchmark
(figure 3) imports the apps from their unpacked zips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra.staging import PROJECT, stage_project

__all__ = ["PROJECT", "Package", "build_bare_project", "build_package", "chalice_cli"]

BARE_APP_NAME = "bare"


@dataclass(frozen=True)
class Package:
    """A built deployment package and where it was unpacked."""

    zip_path: Path
    unpacked: Path

    @property
    def size_bytes(self) -> int:
        return self.zip_path.stat().st_size

    def files(self) -> list[str]:
        with zipfile.ZipFile(self.zip_path) as archive:
            return sorted(archive.namelist())


def chalice_cli() -> str:
    """The Chalice CLI of the interpreter running the benchmarks (the project's venv)."""
    candidate = Path(sys.executable).with_name("chalice")
    return str(candidate) if candidate.exists() else "chalice"


def _cli_environ() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # `chalice package` needs a region
    env.pop("PYTHONPATH", None)
    return env


def build_bare_project(workdir: Path) -> Path:
    """``chalice new-project bare`` in ``workdir``; returns the project directory."""
    subprocess.run(
        [chalice_cli(), "new-project", BARE_APP_NAME],
        cwd=workdir,
        env=_cli_environ(),
        check=True,
        capture_output=True,
    )
    return workdir / BARE_APP_NAME


def build_package(project: Path, workdir: Path, name: str) -> Package:
    """``chalice package`` of a clean copy of ``project`` in ``workdir``; the zip unpacked."""
    staged = stage_project(project, workdir / f"{name}-staged")
    out = workdir / f"{name}-package"
    subprocess.run(
        [chalice_cli(), "package", str(out)],
        cwd=staged,
        env=_cli_environ(),
        check=True,
        capture_output=True,
    )
    zip_path = out / "deployment.zip"
    unpacked = workdir / f"{name}-unpacked"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(unpacked)  # our own freshly built archive
    return Package(zip_path, unpacked)
