"""Files shipper creates hold log content: they are made 0640 (outputs a group such as `adm` may read, as
Debian's mail.log is) or 0600 (state: the registry, open transactions), whatever the umask lets wider.
They are opened without following a final symlink, so a link planted where shipper (often root) writes
cannot redirect the write. An existing file keeps its mode, as with a shell's `>`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

OUTPUT_MODE = 0o640
STATE_MODE = 0o600
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def open_append(path: Path, mode: int = OUTPUT_MODE) -> BinaryIO:
    return os.fdopen(os.open(path, _FLAGS | os.O_APPEND, mode), "ab")


def write_new(path: Path, data: bytes, mode: int = OUTPUT_MODE) -> None:
    """`path` replaced by `data` (truncated first when it exists)."""
    with os.fdopen(os.open(path, _FLAGS | os.O_TRUNC, mode), "wb") as out:
        out.write(data)
