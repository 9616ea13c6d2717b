"""infra/staging.py: Chalice gets the app, its library and its settings, never bytecode."""

from __future__ import annotations

import json
from pathlib import Path

from infra.staging import main, stage_project


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
        "chalicelib/templates/welcome.txt",
        ".chalice/config.json",
        ".chalice/policy-dev.json",
        ".chalice/deployed/dev.json",
    }


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
