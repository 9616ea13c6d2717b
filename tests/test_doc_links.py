"""Every test that README.md and docs/ point to exists, down to the test function named.

The pages cite tests as the proof of what they claim (``tests/x.py`` or ``tests/x.py::name``):
a test moved or renamed must take its citations along.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_docs import DOCUMENTS

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"tests/[\w/]+\.py(?:::\w+)?")
# Written by the page itself: docs/architecture.md's worked example adds this test
# (tests/test_architecture_example.py applies it and runs it).
CREATED_BY_A_PAGE = {"tests/chalicelib/test_email_changed.py"}


def citations() -> list[tuple[str, str]]:
    return [
        (page.name, cited)
        for page in DOCUMENTS
        for cited in CITED.findall(page.read_text(encoding="utf-8"))
    ]


def test_pages_cite_tests() -> None:
    assert len(citations()) > 5  # the pattern still finds what the pages cite


def test_every_cited_test_exists() -> None:
    missing = []
    for page, cited in citations():
        path, _, name = cited.partition("::")
        if path in CREATED_BY_A_PAGE:
            continue
        source = ROOT / path
        if not source.is_file():
            missing.append(f"{page}: {cited} (no such file)")
            continue
        if name:
            tree = ast.parse(source.read_text(encoding="utf-8"))
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            if name not in defined:
                missing.append(f"{page}: {cited} (no such test)")
    assert missing == []
