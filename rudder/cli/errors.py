"""Errors on the command line: one line that names the file, field or object, a non-zero exit code, and no
traceback for mistakes a user can fix (a bad chart directory, a bad --set, a missing Release, an unreachable
cluster). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import NoReturn

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from rudder.kube.client import KubeError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C
# Read failures worth another try while waiting: the server (or the network to it) will be back.
RETRIED_STATUSES = frozenset({0, 429, 500, 502, 503, 504})


class CliError(Exception):
    """A problem the user can fix; `str()` is the whole message, `code` the exit status (None: the command's
    own error status, e.g. 1 for `rudder`, 4 for `kubectl canary`)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class UsageParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit with `usage_exit` (argparse always uses 2, which
    `kubectl canary wait` reserves for a timeout)."""

    def __init__(self, *args: object, usage_exit: int = EXIT_USAGE, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.usage_exit = usage_exit

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_exit, f"{self.prog}: error: {message}\n")


_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


def connection_problem(exc: urllib3.exceptions.HTTPError) -> str:
    """`Connection refused` rather than urllib3's nested reprs."""
    reason = getattr(exc, "reason", None) or exc
    text = _OBJECT_REPR.sub("", str(reason))
    match = re.search(r"\[Errno -?\d+\] ([^')]+)", text)
    return match.group(1) if match else text.strip() or type(exc).__name__


def describe_kube_error(err: KubeError) -> str:
    """The server's own message, with the HTTP status when it adds something."""
    if err.status == 0:
        return err.message
    return f"{err.message} (HTTP {err.status} {err.reason})".strip()


def run_guarded(command: Callable[[], int], *, error_code: int = EXIT_FAILED) -> int:
    """Run a command, turning the errors a user can act on into one line on stderr and `error_code`."""
    try:
        return command()
    except CliError as err:
        _say(str(err))
        return err.code if err.code is not None else error_code
    except KubeError as err:
        _say(describe_kube_error(err))
    except ApiException as err:  # raised by discovery before the Kube wrapper can translate it
        _say(f"the Kubernetes API refused the request: HTTP {err.status} {err.reason}")
    except urllib3.exceptions.HTTPError as err:
        _say(f"cannot reach the Kubernetes API: {connection_problem(err)}")
    except ConfigException as err:
        _say(f"kubeconfig: {err}")
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `rudder history | head`: the reader left, nothing to report
        return EXIT_OK
    return error_code


def _say(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
