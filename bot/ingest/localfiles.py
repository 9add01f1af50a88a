"""Reading a files source from the server's disk, safely.

Files sources are the server's own files, so who may point pressbot at them matters: the
dashboard never can (bot/services/ingest.py refuses non-http(s) targets from the web), a
stored source is read only under the files folder (PRESSBOT_FILES_ROOT, default
$PRESSBOT_HOME/import), and `pressbot ingest PATH` reads what the operator names. Whatever
the path, only a regular file is read, and only up to a size cap, checked before reading:
a symlink to /dev/zero or a FIFO named story.txt would otherwise exhaust memory or hang.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BadInput

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def read_regular_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`; BadInput otherwise.
    Opened non-blocking (opening a FIFO then returns at once instead of waiting for a
    writer) and checked on the open descriptor, so what is read is what was checked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb", buffering=0) as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise BadInput(f"{path}: not a regular file ({kind}); only regular files are read")
        if info.st_size > max_bytes:
            raise BadInput(f"{path}: {info.st_size:,} bytes, over the {max_bytes:,}-byte cap "
                           "(PRESSBOT_FILE_MAX_BYTES)")
        chunks, size = [], 0
        while size <= max_bytes:  # the file may grow while read: stop at the cap anyway
            chunk = fh.read(min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > max_bytes:
        raise BadInput(f"{path}: over the {max_bytes:,}-byte cap (PRESSBOT_FILE_MAX_BYTES)")
    return b"".join(chunks)


@dataclass(frozen=True)
class FileAccess:
    """Where a files source may be read from: under `root`, or anywhere when root is None
    (a path the operator named on the command line)."""

    root: Path | None
    max_bytes: int = DEFAULT_MAX_BYTES

    def check(self, path: Path) -> Path:
        """`path` with symlinks resolved, refused when that lands outside the root (so a
        link in the import folder to /etc is refused too)."""
        resolved = Path(path).resolve()
        if self.root is not None and not resolved.is_relative_to(self.root):
            raise BadInput(f"{path}: outside the files folder {self.root}; files sources are "
                           "read only there (PRESSBOT_FILES_ROOT), or named to `pressbot ingest`")
        return resolved

    def read(self, path: Path) -> bytes:
        self.check(path)
        return read_regular_file(path, self.max_bytes)
