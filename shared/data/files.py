"""Which files Trident opens: regular files of a sane size only.

A data folder is shared ground: anyone who can drop an entry into it can make it a FIFO (a read
never returns), a socket, a device (`/dev/zero` never ends) or a link to one, or a link that
points at itself. Every entry a data description lists is checked here before anything opens
it; such entries are skipped and named (images) or refused with the file's name (label files).
"""

import contextlib
import contextvars
import errno
import os
import stat

from shared.errors import fail
from shared.paths import inside

MAX_IMAGE_BYTES = 512 << 20  # far above any photo (a 100 MP JPEG is ~30 MB)
MAX_TEXT_BYTES = 2 << 30  # label files: a COCO file of a million boxes is ~300 MB

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def not_regular(path, limit=MAX_IMAGE_BYTES):
    """Why `path` must not be opened as a data file, or None when it is a regular file within `limit` bytes.

    Links are followed (a link to a regular file is fine); a link loop, a dangling link, a FIFO,
    socket or device (or a link to one) and a file over `limit` each get their reason.
    """
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop"
        if os.path.islink(path):
            return "a link to nothing"
        return error.strerror or "cannot be read"
    for test, kind in _KINDS:
        if test(info.st_mode):
            return f"not a regular file: {kind}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > limit:
        return f"{info.st_size / (1 << 20):.0f} MiB, over the {limit >> 20} MiB a data file may have"
    return None


_OUTSIDE_ALLOWED = contextvars.ContextVar("outside_allowed", default=False)


@contextlib.contextmanager
def outside_allowed(allowed):
    """Within the block, `contained` lets listings name files outside their folders when `allowed` (a run's
    `--allow-outside-data`)."""
    token = _OUTSIDE_ALLOWED.set(bool(allowed))
    try:
        yield
    finally:
        _OUTSIDE_ALLOWED.reset(token)


def contained(path, listing, roots):
    """`path`, named by the file `listing` (a CSV, a COCO JSON), when it lies inside one of the folders
    `roots` (after resolving `..` and links); otherwise refused before anything opens it, unless
    `outside_allowed`. A typo such as `../../` in a listing would silently train on files from elsewhere,
    or open files that are not images at all."""
    if _OUTSIDE_ALLOWED.get() or any(inside(path, root) for root in roots if root):
        return path
    fail(f"{listing} names {path}, outside its folder {roots[0]}",
         "Move the images under that folder and fix the paths, or pass --allow-outside-data to train if they "
         "are meant to be there", path=os.path.normpath(path))


def regular_entries(folder, keep):
    """`(names, skipped)`: the sorted entries of `folder` whose name passes `keep` and that are regular
    files, and `(path, reason)` for the ones that passed `keep` but are not (never opened)."""
    names, skipped = [], []
    for name in sorted(os.listdir(folder)):
        if not keep(name):
            continue
        path = os.path.join(folder, name)
        why = not_regular(path)
        if why:
            skipped.append((path, why))
        else:
            names.append(name)
    return names, skipped


def check_file(path, what, limit=MAX_TEXT_BYTES):
    """`path`, or a `TridentError` naming it (`what`, e.g. "COCO file") when it is not a regular file
    within `limit` bytes: for label and description files, which Trident cannot do without."""
    why = not_regular(path, limit)
    if why:
        fail(f"{what} {path} cannot be read: {why}",
             "Replace it with the real file (Trident opens regular files only)", file=path)
    return path


def open_text(path, what, newline=None):
    """`open(path)` for reading UTF-8 text, after `check_file`."""
    return open(check_file(path, what), encoding="utf-8", newline=newline)
