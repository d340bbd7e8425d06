"""A ceiling on the bulk pool's CPU: the single-machine form of the bulk lane's maximum concurrency.

On AWS the bulk lane's event source mapping never runs more than `bulk_max_concurrency` of the
worker's `max_concurrency` invocations, so however deep an import's backlog, the interactive
lane's invocations are always free: the import never takes the room single photos need, even
while there are none. On one machine the pools share its cores. A low priority (`bulk_nice`)
alone is work-conserving: the import takes every core the rest leave, so each small photo's CPU
comes straight out of the import's (docs/fairness.md, "Why the drain target sits at the edge").
The ceiling keeps that room free, as the lane's cap does: the bulk pool's processes go into a
control group of their own whose CPU quota is `cores` (the kernel's CFS bandwidth control, per
100 ms period), and whose weight is that of `nice`, so it still yields to everything else below
the ceiling.

cgroup v1 (a `cpu` hierarchy) and v2 (the `cpu` controller in the unified hierarchy, delegated to
the children of the stack's own group) both work; it takes write access to the hierarchy (root, or
a delegated subtree). Where there is none,
`create` raises `CapUnavailable` with the reason, and the stack runs the bulk pool with its nice
alone (`LocalStack` says so on stderr).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 100_000
_SERIAL = itertools.count(1)
BULK_CPU_SHARE = 0.5  # the local stack's default ceiling for its bulk pool (`LanePlan.bulk_cpu_share`)
PREFIX = "imgpipe-bulk-"
# The kernel's weight of each nice level (kernel/sched/core.c, sched_prio_to_weight), from -20.
_NICE_WEIGHTS = (
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
)  # fmt: skip


class CapUnavailable(Exception):
    """This machine gives no CPU control group to write (why, in the message)."""


@dataclass(frozen=True)
class CpuCap:
    """A control group with a CPU quota; processes `add`ed to it share `cores` at most."""

    path: Path
    version: int  # 1 or 2
    cores: float

    def add(self, pid: int) -> None:
        """Move process `pid` (all its threads) into the group; gone already: nothing to move."""
        with contextlib.suppress(ProcessLookupError):
            (self.path / "cgroup.procs").write_text(f"{pid}\n")

    def throttled(self) -> int:
        """How many periods the group was held at its quota so far (`nr_throttled`)."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat.get("nr_throttled", 0))

    def remove(self, wait_s: float = 1.0) -> None:
        """Delete the group once its processes have exited: the kernel may take a moment after
        the last one is reaped; a group still in use after `wait_s` is left (swept later)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.05)


def usable_cores(mounts: Path = Path("/proc/self")) -> float:
    """The cores this process can use: those it may run on, and no more than its own group's
    quota (a container's `--cpus`), which a child's quota cannot exceed."""
    cores = float(len(os.sched_getaffinity(0)))
    try:
        own, version = _own_group(mounts, need_write=False)
    except CapUnavailable:
        return cores
    if version == 1:
        quota, period = _read(own / "cpu.cfs_quota_us").strip(), _read(own / "cpu.cfs_period_us").strip()
    else:
        quota, _, period = _read(own / "cpu.max").strip().partition(" ")
    if quota.lstrip("-").isdigit() and period.isdigit() and int(quota) > 0 and int(period) > 0:
        cores = min(cores, int(quota) / int(period))
    return cores


def create(cores: float, nice: int, name: str | None = None, mounts: Path = Path("/proc/self")) -> CpuCap:
    """A new group under this process's own, capped at `cores` with the weight of `nice`."""
    if cores <= 0:
        raise ValueError(f"a CPU cap is more than 0 cores, not {cores:g}")
    if not 0 <= nice <= 19:
        raise ValueError(f"nice is 0-19, not {nice}")
    parent, version = _own_group(mounts)
    if version == 2:
        _delegate_cpu(parent)
    _sweep(parent)
    path = parent / (name or f"{PREFIX}{os.getpid()}-{next(_SERIAL)}")  # a stack's own, even beside another
    try:
        path.mkdir(exist_ok=True)
        quota = max(1000, round(cores * PERIOD_US))
        if version == 1:
            (path / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
            (path / "cpu.cfs_quota_us").write_text(f"{quota}\n")
            (path / "cpu.shares").write_text(f"{_NICE_WEIGHTS[nice + 20]}\n")
        else:
            (path / "cpu.max").write_text(f"{quota} {PERIOD_US}\n")
            (path / "cpu.weight.nice").write_text(f"{nice}\n")
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.rmdir()
        raise CapUnavailable(f"cannot set a CPU quota in {parent}: {exc.strerror or exc}") from exc
    return CpuCap(path, version, cores)


def _delegate_cpu(parent: Path) -> None:
    """cgroup v2: a child of `parent` has `cpu.max` only when `parent` hands its children the cpu
    controller, which the kernel refuses while `parent` itself holds processes (this one), unless
    it is the root: a systemd scope with `Delegate=yes` is the usual way to get one."""
    if "cpu" in _read(parent / "cgroup.subtree_control").split():
        return
    try:
        (parent / "cgroup.subtree_control").write_text("+cpu\n")
    except OSError as exc:
        raise CapUnavailable(
            f"the cpu controller is not enabled for the children of {parent}"
            f" ({exc.strerror or exc}; cgroup v2 needs it delegated, as `systemd-run --scope -p Delegate=yes`"
            " gives)"
        ) from exc


def _own_group(proc: Path, need_write: bool = True) -> tuple[Path, int]:
    """The directory of this process's own CPU control group, and the hierarchy's version."""
    try:
        mountinfo = (proc / "mountinfo").read_text()
        memberships = (proc / "cgroup").read_text()
    except OSError as exc:
        raise CapUnavailable(f"no control groups to read ({exc.strerror or exc})") from exc
    v1 = v2 = None  # (where the hierarchy is mounted, which of its groups is mounted there)
    for line in mountinfo.splitlines():
        before, separator, rest = line.partition(" - ")
        if not separator:
            continue
        fields, after = before.split(), rest.split()
        fstype, options = after[0], after[2].split(",") if len(after) > 2 else []
        if fstype == "cgroup" and "cpu" in options and v1 is None:
            v1 = Path(fields[4]), fields[3]
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(fields[4]), fields[3]
    groups = {}
    for line in memberships.splitlines():
        _, controllers, group = line.split(":", 2)
        groups[controllers] = group
    check = _writable if need_write else (lambda path: path)
    if v1 is not None:
        group = next((g for c, g in groups.items() if "cpu" in c.split(",")), "/")
        return check(_inside(*v1, group)), 1
    if v2 is not None:
        own = _inside(*v2, groups.get("", "/"))
        if "cpu" in _read(own / "cgroup.controllers").split():
            return check(own), 2
    raise CapUnavailable("no cgroup hierarchy with the cpu controller is mounted")


def _inside(mount: Path, mounted: str, group: str) -> Path:
    """Group `group`'s directory under `mount`, where the hierarchy's group `mounted` is mounted
    (a container sees its own group as the root: `/docker/abc` mounted at `/sys/fs/cgroup/cpu`)."""
    relative = (
        Path(group).relative_to(mounted) if Path(group).is_relative_to(mounted) else Path(group.lstrip("/"))
    )
    return mount / relative


def _writable(path: Path) -> Path:
    if not os.access(path, os.W_OK):
        raise CapUnavailable(f"no write access to the control group {path}")
    return path


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _sweep(parent: Path) -> None:
    """Remove groups an earlier stack left (it was killed before it could): empty ones only."""
    for stale in parent.glob(f"{PREFIX}*"):
        pid = stale.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                stale.rmdir()
