"""The app as a new Lambda container gets it: a fresh import of app.py.

:class:`chalicelib.service.UsersStream` reads the settings at its first invocation and keeps
them, as a container's environment never changes. A test that invokes the app with settings of
its own therefore needs an app of its own: the shared ``app`` module keeps whatever the first
test in the process gave it.
"""

from __future__ import annotations

import importlib.util
from itertools import count
from pathlib import Path
from types import ModuleType

__all__ = ["fresh_app"]

ROOT = Path(__file__).resolve().parent.parent
_imports = count()


def fresh_app() -> ModuleType:
    """A new import of app.py under a name of its own (the shared ``app`` is untouched)."""
    name = f"app_fresh_import_{next(_imports)}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
