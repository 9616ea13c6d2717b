"""``make run STATE=FILE``: the emulator's state kept across restarts, when the user asks for it.

moto keeps everything in memory. With a state file, serve mode saves the emulator's DynamoDB
(tables, items, the stream and its records), SQS (the on-failure queue and its messages), SES
(the verified sender and the emails sent) and CloudFormation (the stack) at stop, in one pickle
(objects shared between services stay shared), and loads them at the next start instead of
creating the stack again. The stream keeps its ARN, shard and sequence numbers, so the poller's
checkpoints (kept next to the state file) match and it resumes after the last record it
handled: nothing is lost or handled twice across the restart.

The file is read with :mod:`pickle`: it is this tool's own file, written by :func:`save`; never
load one from elsewhere. A file written by another version of moto is refused (one line).
"""

from __future__ import annotations

import copyreg
import os
import pickle  # nosec B403: the user's own state file, written by save()
import tempfile
import threading
from pathlib import Path
from typing import Any

from devtools.cli import Failure
from devtools.emulator import Stack

__all__ = ["checkpoint_file", "load", "save"]

FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _backends() -> list[Any]:
    """moto's backend registries this state covers (one per service)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.ses.models import ses_backends
    from moto.sqs.models import sqs_backends

    return [dynamodb_backends, sqs_backends, ses_backends, cloudformation_backends]


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def _locks_as_new_locks() -> None:
    """moto's backends hold locks: a saved lock comes back as a new, free one."""
    copyreg.pickle(_LOCK_TYPES[0], lambda lock: (threading.Lock, ()))
    copyreg.pickle(_LOCK_TYPES[1], lambda lock: (threading.RLock, ()))


def checkpoint_file(state: Path) -> Path:
    """Where the poller's checkpoints live next to ``state``."""
    return state.with_name(state.name + ".checkpoints.json")


def _account() -> str:
    from moto.core.models import DEFAULT_ACCOUNT_ID

    return str(DEFAULT_ACCOUNT_ID)


def save(path: Path, stack: Stack, region: str) -> None:
    """Write the emulator's state to ``path`` atomically."""
    _locks_as_new_locks()
    backends = [registry[_account()][region] for registry in _backends()]
    document = {"format": FORMAT, "moto": _moto_version(), "stack": stack, "backends": backends}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(document, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path, region: str) -> Stack | None:
    """Put the state saved in ``path`` back into moto; its stack, or None if there is none."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as source:
            document = pickle.load(source)  # noqa: S301  # nosec B301: our own file (see above)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise Failure(f"{path} is not a state file this tool wrote ({exc}); move it away") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Failure(f"{path} is not a state file this tool wrote; move it away")
    if document.get("moto") != _moto_version():
        raise Failure(
            f"{path} was written with moto {document.get('moto')}, this is moto "
            f"{_moto_version()}: its state cannot be loaded; move it away to start empty"
        )
    for registry, backend in zip(_backends(), document["backends"], strict=True):
        registry[_account()][region] = backend
    stack = document["stack"]
    if not isinstance(stack, Stack):
        raise Failure(f"{path} holds no stack; move it away")
    return stack
