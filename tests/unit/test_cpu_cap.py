"""Where the bulk pool's CPU ceiling goes and what it writes, on a tree laid out as the kernel's.

The directory stands in for the cgroup filesystem only to check which files the module finds and
writes (the kernel's own behaviour is in tests/integration/test_cpu_cap_kernel.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy.local import cpu_cap
from deploy.local.cpu_cap import CapUnavailable

pytestmark = pytest.mark.unit


def _proc(tmp_path: Path, mountinfo: str, cgroup: str) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text(mountinfo)
    (proc / "cgroup").write_text(cgroup)
    return proc


def _v1(tmp_path: Path, group: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cpu"
    (root / group.lstrip("/")).mkdir(parents=True, exist_ok=True)
    mountinfo = (
        f"30 25 0:26 / {tmp_path / 'memory'} rw,relatime - cgroup cgroup rw,memory\n"
        f"31 25 0:27 / {root} rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        f"32 25 0:28 / {tmp_path / 'unified'} rw,relatime - cgroup2 cgroup2 rw\n"
    )
    cgroup = f"4:memory:/elsewhere\n1:cpu,cpuacct:{group}\n0::/\n"
    return _proc(tmp_path, mountinfo, cgroup), root / group.lstrip("/")


def test_a_v1_group_is_made_under_the_process_own_with_quota_and_the_weight_of_its_nice(
    tmp_path: Path,
) -> None:
    proc, parent = _v1(tmp_path, "/session/7")
    cap = cpu_cap.create(1.25, 19, name="imgpipe-bulk-1", mounts=proc)
    assert (cap.path, cap.version, cap.cores) == (parent / "imgpipe-bulk-1", 1, 1.25)
    assert (cap.path / "cpu.cfs_period_us").read_text() == "100000\n"
    assert (cap.path / "cpu.cfs_quota_us").read_text() == "125000\n"
    assert (cap.path / "cpu.shares").read_text() == "15\n"  # the kernel's weight of nice 19
    cap.add(4242)
    assert (cap.path / "cgroup.procs").read_text() == "4242\n"


def test_a_v2_group_gets_cpu_max_and_the_nice_as_its_weight(tmp_path: Path) -> None:
    root = tmp_path / "unified"
    (root / "user.slice").mkdir(parents=True)
    (root / "user.slice" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "user.slice" / "cgroup.subtree_control").write_text("")  # the stack enables cpu there
    proc = _proc(
        tmp_path,
        f"32 25 0:28 / {root} rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n",
        "0::/user.slice\n",
    )
    cap = cpu_cap.create(0.5, 10, name="g", mounts=proc)
    assert (cap.path, cap.version) == (root / "user.slice" / "g", 2)
    assert (cap.path / "cpu.max").read_text() == "50000 100000\n"
    assert (cap.path / "cpu.weight.nice").read_text() == "10\n"
    assert (root / "user.slice" / "cgroup.subtree_control").read_text() == "+cpu\n"


def test_v2_without_the_cpu_controller_delegated_says_so(tmp_path: Path) -> None:
    # the kernel refuses `+cpu` in a group that holds processes: here, a write that fails
    root = tmp_path / "unified"
    (root / "session.scope" / "cgroup.subtree_control").mkdir(parents=True)
    (root / "session.scope" / "cgroup.controllers").write_text("cpu memory pids\n")
    proc = _proc(tmp_path, f"32 25 0:28 / {root} rw - cgroup2 cgroup2 rw\n", "0::/session.scope\n")
    with pytest.raises(CapUnavailable, match="cpu controller is not enabled for the children of"):
        cpu_cap.create(1.0, 19, mounts=proc)


def test_the_usable_cores_are_the_affinity_within_the_groups_own_quota(tmp_path: Path) -> None:
    proc, own = _v1(tmp_path, "/docker/abc")
    affinity = len(os.sched_getaffinity(0))
    assert cpu_cap.usable_cores(proc) == affinity  # no quota file: no limit
    (own / "cpu.cfs_quota_us").write_text("-1\n")
    (own / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_cap.usable_cores(proc) == affinity
    (own / "cpu.cfs_quota_us").write_text("50000\n")  # a container given half a core
    assert cpu_cap.usable_cores(proc) == min(affinity, 0.5)
    assert cpu_cap.usable_cores(tmp_path / "no-proc") == affinity


def test_without_a_cpu_hierarchy_the_reason_is_given(tmp_path: Path) -> None:
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.controllers").write_text("memory pids\n")  # no cpu controller for this group
    proc = _proc(tmp_path, f"32 25 0:28 / {root} rw - cgroup2 cgroup2 rw\n", "0::/\n")
    with pytest.raises(CapUnavailable, match="no cgroup hierarchy with the cpu controller"):
        cpu_cap.create(1.0, 19, mounts=proc)
    with pytest.raises(CapUnavailable, match="no control groups to read"):
        cpu_cap.create(1.0, 19, mounts=tmp_path / "missing")


def test_a_group_that_cannot_take_a_quota_is_not_left_behind(tmp_path: Path) -> None:
    proc, parent = _v1(tmp_path)
    (parent / "g").mkdir()
    (parent / "g" / "cpu.cfs_quota_us").mkdir()  # a write to it fails, as a refused one would
    with pytest.raises(CapUnavailable, match="cannot set a CPU quota"):
        cpu_cap.create(1.0, 19, name="g", mounts=proc)


def test_empty_groups_of_stacks_that_are_gone_are_swept_and_others_kept(tmp_path: Path) -> None:
    proc, parent = _v1(tmp_path)
    gone, alive, busy = (parent / f"imgpipe-bulk-{pid}-1" for pid in (999_999_999, 1, 999_999_998))
    for group in (gone, alive, busy):
        group.mkdir()
    (busy / "cgroup.procs").write_text("5\n")  # rmdir of a group in use fails: it stays
    cpu_cap.create(1.0, 19, name="new", mounts=proc)
    assert not gone.exists() and alive.exists() and busy.exists()


@pytest.mark.parametrize(
    ("cores", "nice", "message"), [(0, 19, "more than 0 cores"), (1, 20, "nice is 0-19")]
)
def test_nonsense_is_refused(tmp_path: Path, cores: float, nice: int, message: str) -> None:
    proc, _ = _v1(tmp_path)
    with pytest.raises(ValueError, match=message):
        cpu_cap.create(cores, nice, mounts=proc)


def test_in_a_container_the_group_is_found_relative_to_the_mounted_one(tmp_path: Path) -> None:
    # /proc/self/cgroup names the whole path; the container's mount shows its own group as root
    root = tmp_path / "cpu"
    (root / "worker").mkdir(parents=True)
    proc = _proc(
        tmp_path,
        f"31 25 0:27 /docker/abc {root} rw,relatime - cgroup cgroup rw,cpu\n",
        "1:cpu:/docker/abc/worker\n",
    )
    assert cpu_cap.create(1.0, 19, name="g", mounts=proc).path == root / "worker" / "g"


def test_two_stacks_in_one_process_get_groups_of_their_own(tmp_path: Path) -> None:
    proc, _ = _v1(tmp_path)
    first, second = cpu_cap.create(1.0, 19, mounts=proc), cpu_cap.create(0.5, 19, mounts=proc)
    assert first.path != second.path
    assert (first.path / "cpu.cfs_quota_us").read_text() == "100000\n"
