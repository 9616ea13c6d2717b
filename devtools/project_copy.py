"""A copy of the project's deployable parts and tools, to run the documented commands in.

The deploy rehearsal (:mod:`devtools.rehearse`) and the tests of the deployment ways deploy from
such a copy, so that nothing they run writes into the project itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["project_copy"]

ROOT = Path(__file__).resolve().parent.parent
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
