"""glibc's allocator told to keep the big buffers a render frees, so the next render reuses them.

A decode allocates tens of megabytes at once: libjpeg-turbo's output picture, and for a
progressive JPEG its whole-image coefficient buffer (48 MB for the luma of a 24 MP photo).
glibc serves every block above its mmap threshold (128 KB, rising to at most 32 MB) from a
fresh mapping and unmaps it on free, so each render faulted those pages in again: 11,700
page faults and 17 ms of a 132 ms decode of a progressive 24 MP JPEG, every time.

- Blocks up to `HEAP_BLOCK_BYTES` come from the heap instead, and the heap keeps up to
  `KEEP_BYTES` of free memory for the next render rather than handing it back. Each render's
  peak stays within `memory.estimate` for every format (docs/performance.md, memory table).
- One arena for every thread: a block freed by one render thread is then reusable by the
  next render on any thread. With an arena per thread each kept its own free blocks, and two
  renders side by side peaked 90 MB higher than with glibc's defaults; with one arena they
  peak 110 MB lower (docs/performance.md).
"""

from __future__ import annotations

import ctypes

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks up to this size come from the heap: a 24 MP progressive JPEG's coefficients (48 MB),
# a 12 MP decoded picture (36 MB). Bigger ones keep their own mappings, as glibc gives them: in
# the heap, a 24 MP WebP's 96 MB RGBA buffers fragmented it: 330 MB at peak instead of 270, and
# 422 MB, past its estimate of 419, when the header was read twice.
HEAP_BLOCK_BYTES = 64 << 20
# Free memory the heap keeps for reuse: a 24-50 MP render's working set.
KEEP_BYTES = 512 << 20


def keep_freed_buffers() -> bool:
    """Tune glibc's malloc as the module says (before the first render thread starts); False
    where the C library is not glibc (musl has mallopt but ignores it), and nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False  # no mallopt (macOS): that allocator's defaults stand
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES), (_M_TRIM_THRESHOLD, KEEP_BYTES))
    accepted = [mallopt(param, value) for param, value in settings]  # each one, whatever the others do
    return all(accepted)
