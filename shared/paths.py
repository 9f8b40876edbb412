"""Where a path leads: inside a folder or not, and names that must stay plain folder names."""

import os

from shared.errors import fail


def inside(path, root):
    """True when `path` lies inside the folder `root` (after resolving `..` and links)."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, base]) == base


def check_plain_name(name, flag, stays, example):
    """Refuse a user-given `name` that is not one plain folder name (a slash, `..`, an empty name):
    `flag` names where it came from, `stays` why it matters, `example` a good one."""
    if name in ("", ".", "..") or os.path.basename(name) != name or (os.altsep and os.altsep in name):
        fail(f"{flag} {name} is not a plain folder name: {stays}",
             f"Give a name without slashes or '..', {example}", name=name)
    return name
