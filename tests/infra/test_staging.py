"""infra/staging.py: Chalice gets the app, its library and its settings, never stale bytecode:
only the unchecked-hash bytecode compiled from the staged library itself, checked against
PEP 552's format with importlib's own magic number and source hash."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from infra.staging import main, stage_project

TAG = sys.implementation.cache_tag  # cpython-311


def make_project(root: Path) -> Path:
    files = {
        "app.py": "app = 1\n",
        "requirements.txt": "",
        "chalicelib/__init__.py": "",
        "chalicelib/templates/welcome.txt": "hi\n",
        "chalicelib/__pycache__/x.cpython-311.pyc": "bytecode",
        "chalicelib/adapters/stale.pyc": "bytecode",
        ".chalice/config.json": "{}",
        ".chalice/policy-dev.json": "{}",
        ".chalice/deployed/dev.json": "{}",
        ".chalice/deployments/cache.zip": "zip",
        "devtools/tool.py": "",
        "tests/test_x.py": "",
        "infra/x.yaml": "",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_only_the_app_its_library_and_chalice_settings_are_staged(tmp_path):
    project = make_project(tmp_path / "project")
    staged = stage_project(project, tmp_path / "staged")
    assert listing(staged) == {
        "app.py",
        "requirements.txt",
        "chalicelib/__init__.py",
        f"chalicelib/__pycache__/__init__.{TAG}.pyc",
        "chalicelib/templates/welcome.txt",
        ".chalice/config.json",
        ".chalice/policy-dev.json",
        ".chalice/deployed/dev.json",
    }


def unchecked_pyc_of(source: Path) -> bool:
    """Whether ``source`` has, beside it, the bytecode Python uses without looking at the
    source (PEP 552: magic number, flags 0b01 = hash-based and unchecked, the source hash)."""
    pyc = Path(importlib.util.cache_from_source(str(source)))
    header = pyc.read_bytes()[:16]
    return (
        header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") == 0b01
        and header[8:16] == importlib.util.source_hash(source.read_bytes())
    )


def test_the_staged_library_ships_bytecode_of_its_own_source(tmp_path):
    project = make_project(tmp_path / "project")
    (project / "chalicelib" / "__init__.py").write_text("VALUE = 1\n")
    (project / "chalicelib" / "adapters").mkdir(exist_ok=True)
    (project / "chalicelib" / "adapters" / "ses.py").write_text("import json\n")

    staged = stage_project(project, tmp_path / "staged")

    sources = sorted((staged / "chalicelib").rglob("*.py"))
    assert [p.relative_to(staged).as_posix() for p in sources] == [
        "chalicelib/__init__.py",
        "chalicelib/adapters/ses.py",
    ]
    assert all(unchecked_pyc_of(source) for source in sources)
    assert not list((project / "chalicelib" / "adapters").glob("__pycache__"))  # never here


def test_command_line_stages_the_given_project(tmp_path, capsys):
    project = make_project(tmp_path / "project")
    assert main([str(tmp_path / "out"), "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out")
    assert "app.py" in listing(tmp_path / "out")


def test_for_package_leaves_out_the_chalice_deploy_ways_role_settings(tmp_path):
    project = make_project(tmp_path / "project")
    written_by_chalice_deploy = {
        "app_name": "a",
        "autogen_policy": True,
        "stages": {
            "dev": {
                "autogen_policy": False,
                "iam_policy_file": "policy-dev.json",
                "environment_variables": {"X": "1"},
            }
        },
    }
    (project / ".chalice" / "config.json").write_text(json.dumps(written_by_chalice_deploy))
    staged = stage_project(project, tmp_path / "staged", for_package=True)
    assert {n for n in listing(staged) if n.startswith(".chalice")} == {".chalice/config.json"}
    assert json.loads((staged / ".chalice" / "config.json").read_text()) == {
        "app_name": "a",
        "stages": {"dev": {"environment_variables": {"X": "1"}}},
    }
    # The project itself keeps them: the chalice deploy way reuses them next time.
    assert json.loads((project / ".chalice" / "config.json").read_text())["stages"]["dev"][
        "iam_policy_file"
    ] == ("policy-dev.json")


def test_two_stagings_of_one_project_are_the_same_bytes_and_dates(tmp_path):
    # A redeploy with nothing changed must build the same zip (the same S3 key, no update).
    project = make_project(tmp_path / "project")
    (project / "chalicelib" / "__init__.py").write_text("def f():\n    return 1\n")
    first = stage_project(project, tmp_path / "first") / "chalicelib"
    second = stage_project(project, tmp_path / "second") / "chalicelib"

    def files(root: Path) -> dict[str, tuple[bytes, int]]:
        return {
            p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file()
        }

    assert files(first) == files(second)
    assert len(files(first)) == 3  # __init__.py, templates/welcome.txt, __init__'s bytecode


def test_a_project_without_a_library_is_staged_without_a_word(tmp_path, capsys):
    project = make_project(tmp_path / "project")
    for path in sorted((project / "chalicelib").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (project / "chalicelib").rmdir()

    assert main([str(tmp_path / "out"), "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "out")]
