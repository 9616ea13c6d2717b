"""One-line errors for every command line (``devtools.*``, ``benchmarks``, ``infra.*``).

A command builds its parser with :func:`parser` (argparse, plus ``--debug``; a bad flag or value
raises :class:`UsageError` instead of printing argparse's usage block) and is started with
:func:`run`::

    def main(argv: Sequence[str] | None = None) -> int:
        args = cli.parser("python -m tool", "What it does.").parse_args(argv)
        ...

    if __name__ == "__main__":
        sys.exit(cli.run(main, prog="python -m tool"))

:func:`run` turns what goes wrong into exactly one line on stderr, ``<prog>: error: <what>``:

* exit **2** for usage errors (:class:`UsageError`, argparse's own errors);
* exit **1** for runtime and environment errors (:class:`Failure` for a message that says it
  all): an endpoint that does not answer (the line
  names it), missing credentials or region, an AWS error (its code and message), a file that
  cannot be read, and anything else unexpected;
* exit **130** on Ctrl-C.

With ``--debug`` anywhere on the command line the traceback is printed as well.
:func:`error_code` (from :mod:`chalicelib.clients`, the one helper) reads an AWS error code from
an exception.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from chalicelib.clients import error_code

__all__ = [
    "Failure",
    "UsageError",
    "describe",
    "error_code",
    "non_negative_float",
    "parser",
    "positive_float",
    "positive_int",
    "run",
]

DEBUG_FLAG = "--debug"
MAX_DETAIL = 200  # characters of a server's message kept in the line (some answer with HTML)


class UsageError(Exception):
    """The command was called wrongly (exit 2): a bad flag, value or combination."""


class Failure(Exception):
    """A runtime error whose message says it all (exit 1; printed without a type name)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def parser(prog: str, description: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose errors raise :class:`UsageError`, with ``--debug``."""
    built = _Parser(prog=prog, description=description, **kwargs)
    built.add_argument(DEBUG_FLAG, action="store_true", help="on an error, print the traceback too")
    return built


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= MAX_DETAIL else line[:MAX_DETAIL] + "…"


def describe(exc: BaseException) -> str:
    """``exc`` in one line, saying what to check where that is known."""
    from botocore import exceptions as boto

    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectionClosedError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return (
            f"cannot reach {url}: nothing answered. Check --endpoint-url, and that the local "
            "pipeline is running (make run)"
        )
    if isinstance(exc, boto.ReadTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return f"{url} did not answer in time. Check --endpoint-url and that it is the emulator"
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, boto.NoRegionError):
        return "no AWS region: pass --region or set AWS_DEFAULT_REGION"
    if isinstance(exc, Failure):
        return _first_line(str(exc))
    code = error_code(exc)
    if code:
        message = _first_line(str(getattr(exc, "response", {}).get("Error", {}).get("Message")))
        operation = getattr(exc, "operation_name", "a request")
        return f"{operation} failed: {code}: {message}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = _first_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run(
    main: Callable[[list[str]], int],
    argv: Sequence[str] | None = None,
    *,
    prog: str,
    stderr: TextIO | None = None,
) -> int:
    """Call ``main(argv)``; every error becomes one line on stderr and an exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    err = stderr if stderr is not None else sys.stderr
    debug = DEBUG_FLAG in args

    def fail(status: int, message: str) -> int:
        if debug:
            traceback.print_exc(file=err)
        err.write(f"{prog}: error: {message}\n")
        err.flush()
        return status

    try:
        return main(args)
    except UsageError as exc:
        return fail(2, str(exc))
    except KeyboardInterrupt:
        return fail(130, "interrupted")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return fail(2, str(exc.code))
    except Exception as exc:
        hint = "" if debug else " (--debug for the traceback)"
        return fail(1, describe(exc) + hint)


def _number(kind: type[int] | type[float], text: str) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(_number(int, text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    value = float(_number(float, text))
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a number of 0 or more."""
    value = float(_number(float, text))
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value
