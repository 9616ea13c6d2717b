"""The picture's two paths name modules that exist, and the page shows the picture (it is not
redrawn here: the drawing is committed)."""

from __future__ import annotations

from pathlib import Path

from devtools.architecture import INSERT, MODIFY, OUT

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_on_the_paths_exists() -> None:
    for module, _job in (*MODIFY, *INSERT):
        path = ROOT / module if module == "app.py" else ROOT / "chalicelib" / module
        assert path.is_file(), module


def test_the_page_shows_the_committed_picture_and_names_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert OUT.is_file()
    assert f"]({OUT.name})" in page
    for module, _job in (*MODIFY, *INSERT):
        assert f"`{module}`" in page, module
