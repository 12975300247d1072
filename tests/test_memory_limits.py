"""Issue 14, memory: the room the estimate is compared with is the least of what the kernel has
available, what each memory cgroup (v1 or v2, the process's own and those above it) still allows,
and what the process's own limits (ulimit -v, -d) leave. The fake /proc and /sys trees below hold
the files the kernel writes, in its formats."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from converter import memory

GIB = 1 << 30


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _meminfo(available: int) -> dict[str, str]:
    return {"proc/meminfo": f"MemTotal:       32000000 kB\nMemAvailable:   {available // 1024} kB\n",
            "proc/self/status": "Name:\tpython\nVmSize:\t  1048576 kB\nVmData:\t   524288 kB\n"}


def test_cgroup_v2_of_the_process_and_above(tmp_path):
    root = _tree(tmp_path, {**_meminfo(20 * GIB), "proc/self/cgroup": "0::/jobs/ci\n",
                            "sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/memory.current": f"{GIB}\n",
                            "sys/fs/cgroup/jobs/memory.max": f"{8 * GIB}\n",
                            "sys/fs/cgroup/jobs/memory.current": f"{5 * GIB}\n",
                            "sys/fs/cgroup/jobs/ci/memory.max": f"{4 * GIB}\n",
                            "sys/fs/cgroup/jobs/ci/memory.current": f"{GIB}\n"})
    assert memory.available_bytes(root) == 3 * GIB  # the group above leaves less than the own one


def test_cgroup_v1_memory_controller(tmp_path):
    root = _tree(tmp_path, {**_meminfo(20 * GIB), "proc/self/cgroup": "4:memory:/docker/abc\n1:cpu:/\n0::/\n",
                            "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
                            "sys/fs/cgroup/memory/memory.usage_in_bytes": f"{10 * GIB}\n",
                            "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": f"{6 * GIB}\n",
                            "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": f"{2 * GIB}\n"})
    assert memory.available_bytes(root) == 4 * GIB


def test_cgroup_of_another_namespace_reads_the_mounted_group(tmp_path):
    """In a container /proc/self/cgroup names the host's path; the mount shows the container's group."""
    root = _tree(tmp_path, {**_meminfo(20 * GIB), "proc/self/cgroup": "0::/not/here\n",
                            "sys/fs/cgroup/memory.max": f"{2 * GIB}\n", "sys/fs/cgroup/memory.current": f"{GIB}\n"})
    assert memory.available_bytes(root) == GIB


@pytest.mark.parametrize("limit, field", [("RLIMIT_AS", 1048576 * 1024), ("RLIMIT_DATA", 524288 * 1024)])
def test_the_process_own_limits(tmp_path, monkeypatch, limit, field):
    root = _tree(tmp_path, _meminfo(20 * GIB))
    real = resource.getrlimit

    def getrlimit(which: int) -> tuple[int, int]:
        return (field + 3 * GIB, resource.RLIM_INFINITY) if which == getattr(resource, limit) else real(which)

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    assert memory.available_bytes(root) == 3 * GIB


def test_without_limits_the_kernel_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert memory.available_bytes(_tree(tmp_path, _meminfo(20 * GIB))) == 20 * GIB
