"""Each hostile file in a forked child of its own, under an address-space limit and a time limit,
and how it ended there (`Ending`).

The child does what a worker does: its cold start (`worker.runtime.build_runtime`: settings,
libvips threads, the render pool), then the render step (`engine.render` with the settings'
variants and limits, on that pool, as `worker.pipeline` calls it). It ends
`complete`, or `quarantined` with a `PermanentError`, which the worker turns into a DLQ entry and
a failed manifest. Anything else is a defect: `crash` (another exception, or a signal),
`hang` (over the time limit) or `over budget` (a `MemoryError` under `RLIMIT_AS`). The children
are forked from a parent that has imported libvips but never started a thread, so each starts in
milliseconds; peak memory is the child's own high-water mark (VmHWM), which includes the ~70 MB
of interpreter and libvips it inherits.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from worker.runtime import Runtime

# RLIMIT_AS per file: the function's memory (Terraform's 2048 MB default). Address space, not RSS:
# thread stacks, malloc arenas and untouched reservations count too, so it is stricter than the
# RSS Lambda enforces; peak RSS and peak address space are both reported per file class.
MIN_BUDGET_MB = 256
BUDGET_MB = 2048
TIME_LIMIT_S = 30.0


@dataclass(frozen=True)
class Ending:
    """How one file ended in its subprocess."""

    name: str
    outcome: str  # complete | quarantined | crash | hang | over budget
    error_type: str | None
    message: str
    peak_mb: float
    seconds: float
    peak_vm_mb: float = 0.0  # address space (VmPeak), what RLIMIT_AS caps

    @property
    def kind(self) -> str:
        """The file class."""
        return self.name.split("__", 1)[0]


def _high_water_mb(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child(runtime: Runtime, data: bytes, budget_mb: int, out: int) -> NoReturn:
    """In the forked child: render like the worker, report one JSON line, exit without cleanup."""
    from shared.errors import PermanentError
    from worker import engine

    report: dict[str, object]
    try:
        resource.setrlimit(resource.RLIMIT_AS, (budget_mb * 1024 * 1024,) * 2)
        settings = runtime.settings
        result = runtime.executor.submit(engine.render, data, settings.variants, settings.limits).result()
        report = {"outcome": "complete", "error_type": None, "message": f"{len(result.variants)} variants"}
    except PermanentError as exc:
        report = {"outcome": "quarantined", "error_type": exc.error_type, "message": str(exc)[:300]}
    except MemoryError as exc:
        report = {"outcome": "over budget", "error_type": "MemoryError", "message": str(exc)[:300]}
    except BaseException as exc:  # noqa: BLE001 - a defect to report, not to hide
        report = {"outcome": "crash", "error_type": type(exc).__name__, "message": str(exc)[:300]}
    report["peak_mb"], report["peak_vm_mb"] = _high_water_mb(), _high_water_mb("VmPeak")
    os.write(out, json.dumps(report).encode())
    os._exit(0)


@dataclass
class _Running:
    path: Path
    pid: int
    fd: int
    started: float
    chunks: list[bytes] = field(default_factory=list)


def cold_start() -> Runtime:
    """The worker's cold start (`worker.runtime.build_runtime`: settings, libvips threads, the
    render pool), done once in the parent: no thread exists until a child submits work."""
    os.environ.setdefault("IMGPIPE_OUTPUT_BUCKET", "imgpipe-hostile")
    from worker.runtime import build_runtime

    return build_runtime()


def _spawn(runtime: Runtime, path: Path, budget_mb: int) -> _Running:
    data = path.read_bytes()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(runtime, data, budget_mb, write_end)
    os.close(write_end)
    return _Running(path, pid, read_end, time.monotonic())


def _ending(child: _Running, hung: bool, time_limit_s: float) -> Ending:
    os.close(child.fd)
    _, status, usage = os.wait4(child.pid, 0)
    seconds, peak_mb, name = (
        round(time.monotonic() - child.started, 3),
        usage.ru_maxrss / 1024,
        child.path.name,
    )
    if hung:
        return Ending(name, "hang", None, f"killed after {time_limit_s:g} s", peak_mb, seconds)
    if not child.chunks:
        how = f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) else "no report"
        return Ending(name, "crash", None, how, peak_mb, seconds)
    report = json.loads(b"".join(child.chunks))
    return Ending(name, str(report["outcome"]), report["error_type"], str(report["message"]),
                  float(report["peak_mb"]), seconds, float(report["peak_vm_mb"]))  # fmt: skip


def run_all(
    paths: list[Path], budget_mb: int = BUDGET_MB, time_limit_s: float = TIME_LIMIT_S, jobs: int = 2
) -> list[Ending]:
    """Every file in a forked child of its own, `jobs` at a time; their endings in `paths` order.

    One thread waits on every child's pipe (forking from a threaded parent could copy a held lock).
    """
    runtime, queue = cold_start(), list(paths)
    running: dict[int, _Running] = {}  # by the read end of each child's pipe
    endings: dict[Path, Ending] = {}
    while queue or running:
        while queue and len(running) < jobs:
            child = _spawn(runtime, queue.pop(0), budget_mb)
            running[child.fd] = child
        now = time.monotonic()
        wait = min(time_limit_s - (now - c.started) for c in running.values())
        ready, _, _ = select.select(list(running), [], [], max(0.0, wait))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                running[fd].chunks.append(chunk)
            else:
                child = running.pop(fd)
                endings[child.path] = _ending(child, False, time_limit_s)
        for fd, child in list(running.items()):
            if time.monotonic() - child.started > time_limit_s:
                os.kill(child.pid, signal.SIGKILL)
                endings[child.path] = _ending(running.pop(fd), True, time_limit_s)
    return [endings[path] for path in paths]
