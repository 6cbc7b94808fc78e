"""Detached service processes and the record of their PIDs, so `down` stops exactly those.

A PID is recorded with its kernel start time: a recycled PID never matches, so `down` can never
signal a stranger.
"""

import json
import os
import signal
import subprocess
import time

STOP_GRACE = 5.0


def start_time(pid):
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    state, started = fields[0], fields[19]
    return None if state in ("Z", "X") else started


def own_age():
    """Seconds since this process started (interpreter start-up included), from /proc."""
    with open("/proc/uptime") as handle:
        uptime = float(handle.read().split()[0])
    return uptime - int(start_time(os.getpid())) / os.sysconf("SC_CLK_TCK")


def start_detached(argv, log_path, **popen_args):
    """Start a process in its own session (it outlives the calling shell), output to a log file."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **popen_args)


class PidRecord:
    """`DIR/run/pids.json`: [{name, pid, start_time}] of the processes this sandbox started."""

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path) as handle:
                return json.load(handle)
        except FileNotFoundError:
            return []

    def add(self, name, pid):
        entries = self.load()
        entries.append({"name": name, "pid": pid, "start_time": start_time(pid)})
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(entries, handle, indent=1)
        os.replace(tmp, self.path)

    def alive(self):
        return [e for e in self.load() if e["start_time"] is not None and start_time(e["pid"]) == e["start_time"]]

    def clear(self):
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def _signal(entries, signum):
    for entry in entries:
        if start_time(entry["pid"]) == entry["start_time"]:
            try:
                os.kill(entry["pid"], signum)
            except ProcessLookupError:
                pass


def stop(entries, grace=STOP_GRACE):
    """SIGTERM, then SIGKILL whatever still runs after `grace` seconds. Returns the entries killed hard."""
    _signal(entries, signal.SIGTERM)
    deadline = time.monotonic() + grace
    remaining = entries
    while remaining and time.monotonic() < deadline:
        time.sleep(0.02)
        remaining = [e for e in remaining if start_time(e["pid"]) == e["start_time"]]
    _signal(remaining, signal.SIGKILL)
    return remaining
