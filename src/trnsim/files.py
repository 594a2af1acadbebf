"""File helpers shared by the layers: TOML reading with one-line errors, and atomic writes
(a temporary file in the same folder, renamed into place, so no half-written output is ever left)."""

from __future__ import annotations

import os
import tempfile
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from trnsim.errors import TrnsimError


def read_toml(path: str | Path, text: str | None = None) -> dict[str, Any]:
    """Parse a TOML file (or ``text`` read from it); a missing or malformed file is a one-line TrnsimError naming it."""
    p = Path(path)
    try:
        return tomllib.loads(text if text is not None else p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrnsimError(f"{p}: file not found", "check the path") from None
    except IsADirectoryError:
        raise TrnsimError(f"{p}: is a folder, not a file", "pass a .toml file") from None
    except UnicodeDecodeError:
        raise TrnsimError(f"{p}: not a UTF-8 text file", "pass a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise TrnsimError(f"{p}: not valid TOML: {e}", "fix the TOML syntax") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8", newline="")
    return Path(path)
