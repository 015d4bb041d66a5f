"""The processes ``flowkit run`` starts: ``python -m flowkit.runtime.child worker|scheduler``.

Each dies with its parent, even when the parent is killed with -9 (Linux's
parent-death signal, and a poll of the parent's pid elsewhere), waits out database and
Redis outages rather than exiting, and exits with ``EXIT_UNFIXABLE`` (after one line on
stderr saying why) only when a restart could not help: bad configuration, an unmigrated
schema, flows that do not compile.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from flowkit._redact import redact_url
from flowkit.errors import FlowkitError
from flowkit.runtime import faults, logs

EXIT_UNFIXABLE = 78  # EX_CONFIG: the supervisor stops rather than restart
PARENT_ENV = "FLOWKIT_PARENT_PID"
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def die_with_parent(parent: int) -> None:
    """Be killed when process ``parent`` goes, however it goes."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the poll below still does it, within half a second
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def stop_event() -> threading.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def when_ready(make: Callable[[], T], stop: threading.Event, what: str) -> T | None:
    """``make()``, retried with backoff while the database or Redis is unreachable
    (logged once); None if ``stop`` is set first. Other errors propagate."""
    backoff = faults.Backoff(first=0.2, most=5.0)
    said = False
    while not stop.is_set():
        try:
            return make()
        except Exception as error:
            problem = faults.transient(error)
            if problem is None:
                raise
            if not said:
                logs.log.warning(f"{what} waits: {problem}")
                said = True
            backoff.wait(stop)
    return None


def _worker(threads: int, stop: threading.Event) -> int:
    import dramatiq

    from flowkit.runtime import worker

    worker.broker.emit_after("process_boot")
    if when_ready(worker.get_engine, stop, "the worker") is None:
        return 0
    running = dramatiq.Worker(worker.broker, worker_threads=threads)
    running.start()
    stop.wait()
    running.stop(timeout=30_000)
    worker.broker.close()
    worker.close_engine()
    return 0


def _scheduler(interval: float, metrics_port: int | None, stop: threading.Event) -> int:
    from flowkit.runtime.scheduler import serve

    serve(interval=interval, metrics_port=metrics_port, stop=stop)
    return 0


def _metrics() -> int:  # pragma: no cover - Dramatiq's exposition server
    from dramatiq.middleware.prometheus import _run_exposition_server

    return int(_run_exposition_server() or 0)  # type: ignore[no-untyped-call]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowkit.runtime.child")
    parser.add_argument("kind", choices=["worker", "scheduler", "metrics"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--metrics-port", type=int, default=None)
    args = parser.parse_args(argv)
    if os.environ.get(PARENT_ENV):
        die_with_parent(int(os.environ[PARENT_ENV]))
    logs.configure_process()
    stop = stop_event()
    try:
        if args.kind == "worker":
            return _worker(args.threads, stop)
        if args.kind == "scheduler":
            return _scheduler(args.interval, args.metrics_port, stop)
        return _metrics()
    except Exception as error:
        problem = faults.diagnose(error)
        if problem is not None and problem.transient:
            raise  # a restart may well help: exit 1, and the supervisor restarts it
        if problem is None and not isinstance(error, FlowkitError):
            raise
        print(f"flowkit {args.kind}: {redact_url(problem or error)}", file=sys.stderr,
              flush=True)
        return EXIT_UNFIXABLE


if __name__ == "__main__":
    sys.exit(main())
