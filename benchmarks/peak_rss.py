"""Run one command; print its wall time, CPU time (user + system, its threads and children
included) and its own peak RSS as one JSON line on stdout.

    python -S -I benchmarks/peak_rss.py CMD [ARG...]

Linux carries a process's memory high-water mark across fork and exec into the child's
`ru_maxrss`, so a command started straight from a big parent (one that has read a 553 MB file,
say) reports at least the parent's peak. This wrapper stays a few MB (`-S -I`: no site packages),
so `maxrss` is the command's own whenever it exceeds `floor_bytes`, the wrapper's size when it
forked. `hwm_bytes` cross-checks it: VmHWM of /proc/<pid>/status, sampled every 2 ms while the
command runs (it can miss only a rise in the last 2 ms). The command's stdout is discarded, its
stderr passed through.
"""

import json
import os
import sys
import threading
import time


def vm_hwm_bytes(pid: str) -> int:
    """The VmHWM line of /proc/<pid>/status (0 once the process is gone or before it has one)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def main() -> None:
    argv = sys.argv[1:]
    if not argv:
        raise SystemExit(__doc__)
    devnull = os.open(os.devnull, os.O_WRONLY)
    floor = vm_hwm_bytes("self")
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(devnull, 1)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    sampled = [0]
    finished = threading.Event()

    def sample() -> None:
        while not finished.is_set():
            sampled[0] = max(sampled[0], vm_hwm_bytes(str(pid)))
            finished.wait(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    finished.set()
    sampler.join()
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "maxrss_bytes": usage.ru_maxrss * 1024, "hwm_bytes": sampled[0],
                      "floor_bytes": floor, "exit": os.waitstatus_to_exitcode(status)}))


if __name__ == "__main__":
    main()
