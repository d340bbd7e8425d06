"""Driving a command in a process of its own: reading its output as it comes, and starting it with
SIGINT set explicitly, so a signal test never depends on how pytest itself was started (a shell
starts background jobs with SIGINT ignored, and a child inherits that)."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable


class Output:
    """A child's stdout, read line by line on a thread of its own, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.text = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, ""):
            with self._changed:
                self.text += line
                self._changed.notify_all()

    def wait_for(self, needle: str, times: int = 1, timeout_s: float = 60) -> bool:
        """True once `needle` was written `times` times; False if it was not within `timeout_s`."""
        with self._changed:
            return self._changed.wait_for(lambda: self.text.count(needle) >= times, timeout_s)

    def rest(self, timeout_s: float = 15) -> str:
        """Everything written, once the child closed its stdout (or after `timeout_s`)."""
        self._reader.join(timeout_s)
        return self.text


def sigint(disposition: signal.Handlers) -> Callable[[], None]:
    """A `preexec_fn` starting the child with SIGINT `disposition` (SIG_DFL or SIG_IGN)."""

    def start_with_it() -> None:
        signal.signal(signal.SIGINT, disposition)

    return start_with_it
