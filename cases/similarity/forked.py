"""A second core for the engine's long, pure-Python work: ``Forked(fn, *args)`` runs ``fn`` in a
forked child while the caller goes on, and ``result()`` hands back what it returned.

Why ``os.fork`` and not ``multiprocessing``: the child sees the parent's memory (a million
records or a built index) without copying or pickling it, it inherits the process's string-hash
secret (text keys are Python string hashes, so both halves of a build must agree), and it also
works inside a Celery prefork worker, whose pool processes are daemonic and so may not start
``multiprocessing`` children.

What a child must not do, and does not: touch anything it shares with the parent that talks to
the outside (database connections, the broker's socket: callers that need a database give the
child its own connection; see ``cases.services.similarity``), or run the parent's exit handlers
(it leaves with ``os._exit``). It dies with its parent (``PR_SET_PDEATHSIG``), so a killed
worker leaves no orphan computing on. Results come back through a pickle file in the temporary
directory; the child may also ``send`` intermediate results, each in its own file, which the
parent collects with ``ready()`` as they arrive.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import pickle
import shutil
import signal
import struct
import tempfile
import threading
import traceback
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


class ForkedError(RuntimeError):
    """The child failed: it raised (the message carries its traceback) or was killed."""


def can_fork() -> bool:
    """Whether forking is possible and safe here: a POSIX ``fork``, two or more CPUs, and no other
    thread running (a lock another thread holds at the fork would stay held in the child)."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


class Counter:
    """An integer both sides of a fork see: the child counts its progress, the parent reads it."""

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, 8)  # anonymous and shared: the child writes, the parent sees

    @property
    def value(self) -> int:
        return struct.unpack_from("q", self._map)[0]

    @value.setter
    def value(self, number: int) -> None:
        struct.pack_into("q", self._map, 0, number)


class Forked:
    """``fn(send, *args)`` in a forked child. ``send(key, value)`` delivers an intermediate result
    (collected by ``ready()``); what ``fn`` returns is ``result()``'s."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._dir = tempfile.mkdtemp(prefix="similarity-fork-")
        self._collected: set[str] = set()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; its work is checked through the parent
            self._run_child(fn, args)
        self._status: int | None = None

    # ------------------------------------------------------------------ child
    def _run_child(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        code = 1
        try:
            with contextlib.suppress(OSError, AttributeError):  # not Linux: no death signal
                ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() == 1:  # the parent died before the death signal was armed
                os._exit(1)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handlers are not ours
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            self._write("result", (True, fn(self._send, *args)))
            code = 0
        except BaseException as exc:  # handed to the parent as a message
            with contextlib.suppress(BaseException):
                self._write("result", (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        finally:
            os._exit(code)

    def _send(self, key: str, value: Any) -> None:
        self._write(f"sent-{key}", value)

    def _write(self, name: str, value: Any) -> None:
        path = os.path.join(self._dir, name)
        with open(path + ".part", "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.rename(path + ".part", path)  # appears whole or not at all

    # ------------------------------------------------------------------ parent
    def _read(self, name: str) -> Any:
        path = os.path.join(self._dir, name)
        with open(path, "rb") as file:
            value = pickle.load(file)  # noqa: S301 - written by our own child, in our own temp dir
        os.unlink(path)
        return value

    def ready(self) -> dict[str, Any]:
        """The intermediate results sent since the last call, by key."""
        found = {}
        for name in sorted(os.listdir(self._dir)):
            if name.startswith("sent-") and not name.endswith(".part") and name not in self._collected:
                self._collected.add(name)
                found[name[len("sent-") :]] = self._read(name)
        return found

    def wait(self) -> int:
        if self._status is None:
            _, status = os.waitpid(self.pid, 0)
            self._status = os.waitstatus_to_exitcode(status)
        return self._status

    def result(self) -> Any:
        """What the child returned; ``ForkedError`` when it raised or died."""
        code = self.wait()
        try:
            ok, value = self._read("result")
        except FileNotFoundError:
            raise ForkedError(f"the child process ended with status {code} and no result") from None
        if not ok:
            raise ForkedError(value)
        return value

    def close(self) -> None:
        """Stop the child if it still runs, and remove its files."""
        if self._status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
