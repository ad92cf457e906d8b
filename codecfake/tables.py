"""TSV tables the pipeline passes between rules, and the one way every output file is written (atomically).

`atomic_output` is the only writer of outputs: the content goes to a hidden `.{name}.{pid}-{token}.part` beside
the target and is renamed onto it once complete, so a reader never sees a partial file. The temp file is created
by the writer with an ordinary open, so it gets the mode the umask allows (mkstemp would force 0600); it is
removed on any exception or catchable signal (the CLI turns SIGTERM into SystemExit), and a `.part` left by a
`kill -9` is removed the next time that output is written. A full disk is reported as such, naming the file.
"""
from __future__ import annotations

import codecs
import errno
import glob
import io
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from codecfake.errors import UserError

#: Below this many free bytes a failed write is reported as a full disk (soundfile hides the errno).
NEARLY_FULL_BYTES = 1 << 20


class DiskFullError(UserError):
    pass


class TextError(UserError):
    pass


def _disk_full(err: BaseException, folder: Path) -> bool:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return True
        cause = cause.__cause__ or cause.__context__
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces `path`, on any failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    own_temp = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.part")  # not the temp files of `{name}.more`
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part"):  # left by a kill -9
        if own_temp.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except (UserError, KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        if _disk_full(err, path.parent):
            raise DiskFullError(f"no space left on the device holding {path.parent} while writing {path.name}: "
                                f"free some space (or point results_dir elsewhere) and rerun") from err
        raise
    finally:
        tmp.unlink(missing_ok=True)


def read_text(path: str | os.PathLike) -> str:
    """A text table's content: UTF-8, a leading byte-order mark dropped (editors on Windows add one, and it would
    become part of the first field). Other bytes are an error naming the file, line and byte, not a bare
    UnicodeDecodeError. The one reader of every text table (protocols, manifests, user TSVs)."""
    data = Path(path).read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise TextError(f"{path} line {line} is not UTF-8 text (byte 0x{data[err.start]:02x} at column {column}): "
                        f"save the file as UTF-8") from None


def read_tsv(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(read_text(path)), sep="\t", dtype=str, keep_default_na=False)


def write_tsv_atomic(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False)


def write_text_atomic(text: str, path: str | os.PathLike) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)
