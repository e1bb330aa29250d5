"""Opening files shipper found (a glob, a directory walk, a configured path), as opposed to files a person
named on the command line. shipper often runs as root, and the directories it reads may belong to a
daemon (/var/log/exim4, /opt/zimbra/log): whoever owns one can plant `current.log -> /etc/shadow`. So a
found path is opened with O_NOFOLLOW; a symbolic link is followed only when the input allows it
(`follow_symlinks`) and what it leads to is a regular file owned by root or by the owner of the directory
holding the link. The check is made on the descriptor actually opened, so swapping the link between check
and open gains nothing. Hard links need no check here: fs.protected_hardlinks (on by default) keeps a
user from linking a file they do not own.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from shipper.core.compression import decompressed

_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # O_NONBLOCK: a FIFO never blocks the reader


class NotFollowed(OSError):
    """A found path shipper will not read; the message says why."""


def open_found(path: str, follow_symlinks: bool = False) -> int:
    """A read-only descriptor of the regular file at `path`; NotFollowed when the policy refuses it,
    OSError when it cannot be opened."""
    try:
        fd = os.open(path, _FLAGS | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        fd = _open_link(path, follow_symlinks)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotFollowed(f"{path}: not a regular file")
    return fd


def _open_link(path: str, follow_symlinks: bool) -> int:
    if not follow_symlinks:
        raise NotFollowed(f"{path}: a symbolic link, not followed (follow_symlinks: true follows links to files "
                          "owned by root or by the directory's owner)")  # fmt: skip
    fd = os.open(path, _FLAGS)
    owner = os.fstat(fd).st_uid
    directory_owner = os.stat(os.path.dirname(path) or ".").st_uid
    if owner not in (0, directory_owner):
        os.close(fd)
        raise NotFollowed(f"{path}: a symbolic link to a file owned by uid {owner}, neither root nor the owner "
                          f"of its directory (uid {directory_owner}): not followed")  # fmt: skip
    return fd


def stream_found(path: str, follow_symlinks: bool = False) -> BinaryIO:
    """`open_found`, as a stream of the (decompressed) content."""
    return decompressed(os.fdopen(open_found(path, follow_symlinks), "rb"))


def check_found(path: str, follow_symlinks: bool = False) -> str | None:
    """Why `path` would be refused, or None (the descriptor is closed again)."""
    try:
        os.close(open_found(path, follow_symlinks))
    except NotFollowed as exc:
        return str(exc)
    except OSError:
        return None  # unreadable for another reason: reported when it is read
    return None
