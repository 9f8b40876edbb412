"""One command at a time on a run folder: a lock file beside it names the process that holds it.

`train` holds its run from before `--restart` could delete it to the end; `export` holds the run it
exports from, and `evaluate` the run it writes its report into. A second command on a held run
says who holds it and stops. The lock is `<parent>/.<run name>.lock` (beside the folder, so that
`--restart` deleting the folder leaves it in place), created atomically with the holder's process
id, host and start. It is released when the command ends, whatever the ending; a lock whose
process has gone (killed) is taken over, on the same host. On another host (a run folder on shared
storage) Trident cannot see whether the holder still runs, so such a lock holds until it is deleted.
"""

import contextlib
import json
import os
import socket
import sys
import time
import uuid

from shared.errors import fail
from shared.io import process_running

_HELD = {}  # lock path -> nesting depth, for this process


def lock_path(run_path):
    path = os.path.abspath(run_path).rstrip(os.sep)
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.lock")


def _process_start(pid):
    """The process's start time in clock ticks since boot (Linux), telling a reused process id apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _holder_gone(holder):
    """True when the recorded holder is certainly not running: an unreadable record, or one of this host
    whose process is gone (or whose id another process now has)."""
    if not isinstance(holder, dict) or not holder:
        return True
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or not process_running(pid):
        return True
    started = holder.get("process_start")
    return started is not None and _process_start(pid) not in (None, started)


def _read(path):
    """The lock's record; None when there is no lock, {} when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _claim(path, record):
    """Create `path` holding `record` unless it exists (written aside, then linked: never seen half-written);
    True when this process created it."""
    aside = f"{path}.{record['token']}.new"
    with open(aside, "w", encoding="utf-8") as f:
        json.dump(record, f)
    try:
        os.link(aside, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: create it exclusively and write it in place
        return _claim_in_place(path, record)
    finally:
        os.remove(aside)


def _claim_in_place(path, record):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f)
    return True


@contextlib.contextmanager
def hold(run_path, action):
    """Hold the run folder `run_path` for `action` (e.g. "classification train") while the block runs.

    Raises:
        TridentError: another live process holds it (naming the process, host and command).
    """
    path = lock_path(run_path)
    if _HELD.get(path):  # this process holds it already (a command calling another)
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": _process_start(os.getpid()),
              "command": f"trident {action}", "argv": " ".join(sys.argv[1:])[:500],
              "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "token": uuid.uuid4().hex}
    while not _claim(path, record):
        holder = _read(path)
        if holder is None:
            continue  # released just now
        if not _holder_gone(holder):
            fail(f"Run {run_path} is in use: `{holder.get('command', 'trident')}` holds it (process "
                 f"{holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})",
                 "Wait for that command to finish or stop it, then run this one again; if that process no longer "
                 f"exists (its machine went away), delete {path}", lock=path)
        _take_over(path, holder)
    _HELD[path] = 1
    try:
        yield
    finally:
        _HELD.pop(path, None)
        if (_read(path) or {}).get("token") == record["token"]:
            os.remove(path)


def _take_over(path, holder):
    """Remove a lock whose holder is gone. Each contender renames it to a name of its own first, so only
    one removes it; one that finds it renamed a newer, live claim puts that back."""
    aside = f"{path}.{uuid.uuid4().hex[:8]}.stale"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    found = _read(aside)
    if found != holder and not _holder_gone(found):
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    os.remove(aside)
