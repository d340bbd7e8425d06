"""The local stack's worker processes: how one is started (`imgpipe worker` on the stack's queue,
as one Lambda concurrency slot of the event source mapping), and what its log says about why it
stopped, for the one-line reason `LocalStack.failure` gives."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from deploy.local.poller import PollerConfig

LOG_TAIL_BYTES = 64 * 1024


def spawn(
    env: dict[str, str], config: PollerConfig, log: Path | None, nice: int = 0
) -> subprocess.Popen[bytes]:
    """Start one worker process with `env` on `config`'s queue, its output appended to `log`, at
    CPU priority `nice` (a bulk lane's workers yield the cores to the interactive lane's)."""
    command = [
        sys.executable, "-m", "deploy.cli", "worker",
        "--queue-url", config.queue_url,
        "--batch-size", str(config.batch_size),
        "--window", str(config.batching_window_s),
        "--timeout", str(config.function_timeout_s),
    ]  # fmt: skip
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    sink = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return start_in_session(command, nice, env=env, stdout=sink, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            sink.close()  # type: ignore[union-attr]  # the child holds its own copy


def start_in_session(
    command: list[str],
    nice: int,
    *,
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own at CPU priority `nice`: the process's and its
    scheduling group's (`group_nice`), so a low priority holds against the other sessions."""
    if nice and shutil.which("nice"):
        command = ["nice", "-n", str(nice), *command]  # nice execs the command: the pid stays its
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    if nice:
        group_nice(process.pid, nice)
    return process


def group_nice(pid: int, nice: int) -> None:
    """Give process `pid`'s autogroup the CPU priority `nice` as well as the process.

    With the kernel's autogroups (`/proc/sys/kernel/sched_autogroup_enabled`, on here and on most
    distributions' kernels) every session is a scheduling group of its own, and the groups share
    the cores equally whatever their processes' nice: a process started in a session of its own
    (as every worker is) at nice 19 got as much CPU as one at nice 0 (measured: four busy loops on
    two cores, two at nice 19, all got the same count; with the group's nice set too, the nice
    ones got a twelfth of the others'). Where the kernel has no autogroups there is no file; where
    they are switched off the write changes nothing; either way the process's own nice is all
    there is.
    """
    with contextlib.suppress(OSError):  # no autogroups on this kernel, or the process has gone
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")


def last_meaningful_line(log: str) -> str | None:
    """The line of a worker's log that says why it stopped: the last one that is not blank or part
    of a traceback's frames (an exception's own line, or the worker's `imgpipe: ...` reason)."""
    for line in reversed(log.splitlines()):
        text = line.strip()
        if text and not line[0].isspace() and not text.startswith("Traceback (most recent call last)"):
            return text
    return None


def log_reason(log_dir: Path | None, name: str) -> str:
    """`: <last meaningful line> (see <log>)` from the tail of `name`'s log, to end a failure's line."""
    if log_dir is None:
        return ""
    log = log_dir / f"{name}.log"
    try:
        with log.open("rb") as file:
            file.seek(max(0, log.stat().st_size - LOG_TAIL_BYTES))
            line = last_meaningful_line(file.read().decode(errors="replace"))
    except OSError:
        line = None
    return f": {line} (see {log})" if line else f"; see {log}"
