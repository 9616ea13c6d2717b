"""docs/architecture.md's worked example ("email changed, send a confirmation") stays true.

Its diff and its test are taken from the page exactly as written, applied with ``git apply`` to
a copy of the project, and run there: the test passes, ``mypy --strict`` and ``ruff`` are clean
on the changed module, and the project's own reaction tests still pass beside it. A change to
``chalicelib/reactions.py`` that the page's diff no longer applies to fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
COPIED = ("app.py", "pyproject.toml", "chalicelib", "devtools", "tests")
TEST_PATH = "tests/chalicelib/test_email_changed.py"


def example() -> tuple[str, str]:
    """The page's diff, and the test the page gives for it."""
    text = PAGE.read_text(encoding="utf-8")
    diff = re.search(r"```diff\n(.*?)```", text, re.S)
    test = re.search(rf"Its test, `{re.escape(TEST_PATH)}`:\n\n```python\n(.*?)```", text, re.S)
    assert diff is not None, "the worked example's diff is gone from docs/architecture.md"
    assert test is not None, "the worked example's test is gone from docs/architecture.md"
    return diff.group(1), test.group(1)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)


def test_the_worked_example_applies_and_passes_as_written(tmp_path: Path) -> None:
    diff, test = example()
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    (project / "example.diff").write_text(diff, encoding="utf-8")
    (project / TEST_PATH).write_text(test, encoding="utf-8")

    applied = run(["git", "apply", "--verbose", "example.diff"], project)
    assert applied.returncode == 0, applied.stderr

    python, ruff = sys.executable, str(Path(sys.executable).with_name("ruff"))
    tested = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST_PATH,
         "tests/chalicelib/test_reactions.py"],
        project,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    typed = run([python, "-m", "mypy", "--strict", "chalicelib/reactions.py", TEST_PATH], project)
    assert typed.returncode == 0, typed.stdout + typed.stderr
    linted = run([ruff, "check", "chalicelib/reactions.py", TEST_PATH], project)
    assert linted.returncode == 0, linted.stdout + linted.stderr
