"""The one error type Trident raises for bad input, its message format, and the words for system failures."""

import errno
import os
import sys


class TridentError(Exception):
    """A problem with the user's input: says what is wrong, where, and what to do.

    The command line prints these without a traceback.
    """


def fail(problem, fix, **received):
    """Raise a `TridentError` whose message ends with `Received: key=value`.

    Args:
        problem: str, what is wrong and where (a file, a value).
        fix: str, what the user should do about it.
        **received: the offending values, shown at the end of the message.
    """
    message = f"{problem.rstrip('.')}. {fix.rstrip('.')}."
    if received:
        shown = ", ".join(f"{key}={value!r}" for key, value in received.items())
        message += f" Received: {shown}"
    raise TridentError(message)


def system_failure(error):
    """The project's message for a failure of the machine rather than the input, or None.

    A failed write (disk full, read-only or forbidden folder) names the file and the fix;
    running out of memory says which settings to lower. Nothing is half-written either
    way: files are written whole or not at all, and a training run keeps its last
    finished epoch.
    """
    tf = sys.modules.get("tensorflow")
    if isinstance(error, MemoryError) or (tf is not None and isinstance(error, tf.errors.ResourceExhaustedError)):
        return ("Out of memory. Lower --image-size or --batch-size (or use a smaller --backbone), then run "
                "the same command again")
    if tf is not None and isinstance(error, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError)):
        return ("Lost contact with another worker of this multi-worker run (it stopped or its machine went "
                "away; its own output says why). Fix that, then start the same command on every machine again: "
                "training resumes from the chief's last checkpoint")
    if tf is not None and isinstance(error, tf.errors.PermissionDeniedError):
        return f"{error.message}. Make that folder writable, or choose another folder, then run the command again"
    if not isinstance(error, OSError):
        return None
    where = error.filename or "a file"
    folder = os.path.dirname(os.path.abspath(where)) if error.filename else "the output folder"
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        fix = f"Free disk space where {folder} is"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"Make {folder} writable, or choose another folder (--runs-dir, --output-dir or --output)"
    else:
        fix = "Check that path"
    return (f"{error.strerror or error}: {where}. {fix}, then run the same command again (a training run resumes "
            "from its last finished epoch; nothing half-written was kept)")


class malformed:  # noqa: N801  (used as a `with` statement, like `contextlib.suppress`)
    """Turn a parsing slip inside a file into the project's error naming the file.

        with malformed(path, "COCO file", "Fix or re-export it"):
            x, y, w, h = (float(v) for v in annotation["bbox"])

    A missing key, a value of the wrong type or form, or undecodable text becomes a
    `TridentError` saying which file and what was wrong; other errors pass through.
    """

    CAUGHT = (KeyError, ValueError, TypeError, AttributeError, IndexError, UnicodeDecodeError)

    def __init__(self, path, what, fix="Fix or re-export the file", where=""):
        self.path, self.what, self.fix, self.where = path, what, fix, where

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or not isinstance(error, self.CAUGHT):
            return False
        if isinstance(error, KeyError):
            detail = f"a record has no `{error.args[0]}` field"
        elif isinstance(error, UnicodeDecodeError):
            detail = "it is not UTF-8 text"
        else:
            detail = str(error) or type(error).__name__
        place = f" ({self.where})" if self.where else ""
        fail(f"{self.what} {self.path}{place} is malformed: {detail}", self.fix, file=str(self.path))
