"""Atomic writes: a reader sees the old file or the whole new one, never half of one."""

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid

_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside `path`; move it into place only on success.

    Works for files and folders. On an exception the temporary is removed and
    whatever stood at `path` before is left untouched.

    Args:
        path: str, the final location.
        suffix: str, ending the temporary name must keep (Keras wants `.keras`).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    tmp = os.path.join(folder, f".{base}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}")
    try:
        yield tmp
        if os.path.isdir(path) and os.path.isdir(tmp):
            old = tmp + ".old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.remove(tmp)


def remove_stale_temporaries(folder):
    """Delete the `atomic_path` temporaries in `folder` whose writing process no longer runs
    (it was killed mid-write); those of a live process are left alone."""
    for entry in os.listdir(folder) if os.path.isdir(folder) else []:
        match = _TEMPORARY.match(entry)
        if match and not process_running(int(match.group(1))):
            path = os.path.join(folder, entry)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)


def process_running(pid):
    """Whether a process of this id exists on this machine."""
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def write_bytes(path, data):
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_json(path, obj):
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


RECORD_FIX = "Restore the file from a copy, or train again with --restart"


def read_record(path, what, fix=RECORD_FIX, missing=None):
    """A JSON object Trident wrote (a run's `state.json`, `splits.json`, `data.json`; an export's
    `trident.json`), read with the data readers' checks: a cut, mistyped or unreadable file is a
    `TridentError` naming it (`what`, e.g. "training state") and `fix`. `missing` is returned when the
    file does not exist. Check its fields inside `shared.errors.malformed(path, what, fix)`."""
    from shared.errors import fail

    if not os.path.lexists(path):
        return missing
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (ValueError, OSError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        fail(f"The {what} {path} cannot be read ({error})", fix, file=path)
    if not isinstance(value, dict):
        fail(f"The {what} {path} holds a JSON {type(value).__name__}, not the object Trident writes", fix,
             file=path)
    return value


def parse_yaml(stream):
    """`yaml.safe_load`, except that a key given twice in one mapping is an error (`yaml.YAMLError`
    saying which key and line) instead of silently taking the last value."""
    import yaml

    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key `{key}` is given twice in one mapping", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return yaml.load(stream, Loader=Strict)  # noqa: S506  (a SafeLoader)


def _jsonable(value):
    # numpy scalars and arrays reach reports; turn them into plain Python.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def file_digest(path, algorithm="sha256"):
    """The hex digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
