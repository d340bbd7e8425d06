"""glibc's allocator told to keep the big buffers a render frees, so the next render reuses them.

A decode allocates tens of megabytes at once: libjpeg-turbo's output picture, and for a
progressive JPEG its whole-image coefficient buffer (48 MB for the luma of a 24 MP photo).
glibc serves every block above its mmap threshold (128 KB, rising to at most 32 MB) from a
fresh mapping and unmaps it on free, so each render faulted those pages in again: 11,700
page faults and 17 ms of a 132 ms decode of a progressive 24 MP JPEG, every time.

- Blocks up to `HEAP_BLOCK_BYTES` come from the heap instead, and the heap keeps up to
  `KEEP_BYTES` of free memory for the next render rather than handing it back. Each render's
  peak stays within `memory.estimate` for every format (docs/performance.md, memory table).
  Memory the heap keeps is not given back while the process lives: an idle worker's RSS stays
  at its peak, which the memory budget already allows for.
- One arena for every thread: a block freed by one render thread is then reusable by the
  next render on any thread. With an arena per thread each kept its own free blocks, and two
  renders side by side peaked 90 MB higher than with glibc's defaults; with one arena they
  peak lower than with the defaults (docs/performance.md).

It is set in the engine, not as `GLIBC_TUNABLES` in one deployment, because the engine runs in
Lambda, in the local stack's workers and in the CLI alike, and one arena only helps when it is
set before any render thread starts.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks up to this size come from the heap: a 24 MP progressive JPEG's coefficients (48 MB),
# a 12 MP decoded picture (36 MB). Bigger ones keep their own mappings, as glibc gives them: in
# the heap, a 24 MP WebP's 96 MB RGBA buffers fragmented it: 330 MB at peak instead of 270, and
# 422 MB, past its estimate of 419, when the header was read twice.
HEAP_BLOCK_BYTES = 64 << 20
# glibc up to 2.34 (Amazon Linux 2023, Lambda's python3.12) takes no threshold above 32 MB.
OLDER_GLIBC_MAX = 32 << 20
# Free memory the heap keeps for reuse: a 24-50 MP render's working set.
KEEP_BYTES = 512 << 20

Mallopt = Callable[[int, int], int]


def keep_freed_buffers(mallopt: Mallopt | None = None) -> int:
    """Tune glibc's malloc as the module says (before the first render thread starts); the mmap
    threshold now in force, or 0 when the C library took none and nothing was changed."""
    if mallopt is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
        except (OSError, AttributeError):
            return 0  # no mallopt (macOS): that allocator's defaults stand
    sizes = (HEAP_BLOCK_BYTES, OLDER_GLIBC_MAX)
    threshold = next((size for size in sizes if mallopt(_M_MMAP_THRESHOLD, size)), 0)
    if threshold:
        # Only with the threshold in place: alone, a fixed trim threshold would switch off
        # glibc's own rising threshold and leave it at 128 KB (7% slower on the corpus).
        mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES)
        mallopt(_M_ARENA_MAX, 1)
    return threshold
