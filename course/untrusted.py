"""Reading what a submission left behind. Every file is hostile input.

A sandboxed submission can leave anything in its scratch folder: symbolic
links (at any level, to a classmate's folder or to ``solutions/``), named
pipes, compressed archives that expand to gigabytes, JSON nested a hundred
thousand levels deep, files of any size. The grader never reads that folder
directly:

* :func:`extract_export` unpacks the bounded archive the sandbox exports
  (:mod:`course.sandbox`) into a folder the grader made: plain files and
  folders only, each name checked, each file and the whole export capped;
  links, pipes and devices are refused and named in the notes;
* :func:`read_file` opens a file relative to a folder descriptor with
  ``O_NOFOLLOW`` on every component (no link is ever followed, at any level),
  checks that it is a regular file (a pipe never blocks: it is opened
  non-blocking, then refused) and caps its size;
* :func:`loads_json` bounds the nesting depth before parsing;
* :func:`load_npz` checks every member's declared size and array header
  before anything is decompressed, and never unpickles.

Each problem raises :class:`Refused` with a sentence that says what was wrong.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np

MAX_FILE_BYTES = 32 << 20  # per file: a ResNet50 configuration is 0.17 MB, an executed notebook up to ~8 MB
MAX_EXPORT_BYTES = 96 << 20  # all files a submission exports together
MAX_EXPORT_FILES = 2000
MAX_JSON_DEPTH = 100  # a Keras functional configuration nests about 12 levels, a notebook 6
MAX_ARRAYS = 256
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,199}$")


class Refused(ValueError):
    """A file or value the grader will not use; the message says why."""


# ---------------------------------------------------------------------------
# Files, without following links
# ---------------------------------------------------------------------------


def _components(relative: str) -> list[str]:
    parts = [p for p in str(relative).split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise Refused(f"{relative!r} is not a path inside the folder")
    return parts


def read_file(folder: Path, relative: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``folder/relative``, read without following any link.

    ``folder`` itself is trusted (the grader made it); every component below it
    is opened with ``O_NOFOLLOW``. Raises ``FileNotFoundError`` when it does not
    exist, :class:`Refused` when a component is a link, the file is not a regular
    file, or it holds more than ``limit`` bytes.
    """
    parts = _components(relative)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as error:
                if error.errno in (40, 20):  # ELOOP (a link), ENOTDIR
                    raise Refused(f"{relative}: {part} is a link or not a folder") from None
                raise
            os.close(fd)
            fd = child
        try:
            file = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        except OSError as error:
            if error.errno == 40:  # ELOOP
                raise Refused(f"{relative} is a symbolic link") from None
            raise
    finally:
        os.close(fd)
    try:
        info = os.fstat(file)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{relative} is not a regular file")
        if info.st_size > limit:
            raise Refused(f"{relative} holds {info.st_size} bytes, more than the limit of {limit}")
        chunks, total = [], 0
        while True:
            chunk = os.read(file, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise Refused(f"{relative} grew past the limit of {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(file)


# ---------------------------------------------------------------------------
# JSON and NumPy archives
# ---------------------------------------------------------------------------

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (brackets inside strings do not count)."""
    codes = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def loads_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for hostile text: the nesting depth is checked first."""
    raw = data.encode() if isinstance(data, str) else data
    depth = json_depth(raw)
    if depth > max_depth:
        raise Refused(f"the JSON is nested {depth} levels deep, more than the limit of {max_depth}")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise Refused(f"not valid JSON ({error})"[:300]) from None


def load_npz(data: bytes, limit: int = MAX_FILE_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` held in ``data``, each declared size checked before it is expanded.

    Refuses more than :data:`MAX_ARRAYS` members, a member that would expand past
    ``limit`` (alone or with the others), object arrays (which need pickle) and
    anything that is not a valid archive.
    """
    arrays, total = {}, 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS:
                raise Refused(f"the array file holds {len(members)} arrays, more than {MAX_ARRAYS}")
            for member in members:
                if not member.filename.endswith(".npy") or member.file_size > limit:
                    raise Refused(f"array member {member.filename[:80]!r} is not an array or is too large")
                total += member.file_size
                if total > limit:
                    raise Refused(f"the arrays expand past the limit of {limit} bytes")
                with archive.open(member) as stream:
                    version = np.lib.format.read_magic(stream)
                    if version not in HEADER_READERS:
                        raise Refused(f"array {member.filename[:80]!r} has an unsupported format {version}")
                    shape, _, dtype = HEADER_READERS[version](stream)
                    if dtype.hasobject:
                        raise Refused("the array file holds Python objects")
                    if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > member.file_size:
                        raise Refused(f"array {member.filename[:80]!r} declares more data than it holds")
                raw = archive.read(member)  # bounded: file_size was checked, the CRC is checked
                arrays[member.filename[:-4]] = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001  (BadZipFile, zlib.error, EOFError, a bad header, ...)
        raise Refused(f"unreadable array file ({type(error).__name__}: {error})"[:300]) from None
    return arrays


# ---------------------------------------------------------------------------
# The sandbox's export
# ---------------------------------------------------------------------------


def extract_export(archive: Path, dest: Path, wanted: tuple[str, ...], *, file_limit: int = MAX_FILE_BYTES,
                   total_limit: int = MAX_EXPORT_BYTES, max_files: int = MAX_EXPORT_FILES) -> list[str]:
    """Unpack the files of the tar stream ``archive`` that match ``wanted`` into ``dest`` (a new folder).

    ``wanted`` holds paths or ``fnmatch`` patterns (``"observations/*"``). Only
    those files, and the folders on the way to them, are looked at; the rest
    is skipped. Returns notes on everything refused or cut: a link (with its
    target) or a pipe, device or socket where a wanted file or folder belongs,
    a bad name, a file over ``file_limit``, the export past ``total_limit`` or
    ``max_files``, a truncated or corrupt archive. Only plain files and folders
    are written, all inside ``dest``.
    """
    dest.mkdir(parents=True)
    notes: list[str] = []
    total = files = 0
    if archive.stat().st_size == 0:
        return ["nothing came back from the run (its processes were killed before the export)"]

    def relevant(name: str) -> tuple[bool, bool]:
        """(a wanted file, a folder on the way to one)"""
        return (any(fnmatch.fnmatchcase(name, w) and name.count("/") == w.count("/") for w in wanted),
                any(w.startswith(name + "/") for w in wanted))

    try:
        with tarfile.open(archive, mode="r|") as stream:
            for member in stream:
                name = member.name.removeprefix("./").rstrip("/")
                is_file, on_the_way = relevant(name)
                if not (is_file or on_the_way):
                    continue
                parts = name.split("/")
                if not all(SAFE_NAME.match(p) for p in parts):
                    notes.append(f"refused {name[:120]!r}: not a plain name")
                    continue
                if member.issym() or member.islnk():
                    notes.append(f"refused {name}: a link to {member.linkname[:120]!r}")
                    continue
                if on_the_way and not is_file:
                    if not member.isdir():
                        notes.append(f"refused {name}: not a folder")
                    continue
                if not member.isreg():
                    notes.append(f"refused {name}: not a regular file (a folder, pipe, device or socket)")
                    continue
                target = dest.joinpath(*parts)
                if os.path.lexists(target):
                    notes.append(f"refused {name}: a second entry of that name")
                    continue
                files += 1
                if files > max_files:
                    notes.append(f"the export holds more than {max_files} files; the rest is ignored")
                    break
                if member.size > file_limit:
                    notes.append(f"refused {name}: {member.size} bytes, more than the limit of {file_limit}")
                    continue
                total += member.size
                if total > total_limit:
                    notes.append(f"the export passed {total_limit} bytes; the rest is ignored")
                    break
                source = stream.extractfile(member)
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as handle:
                    handle.write(source.read(file_limit))
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        notes.append(f"the export was cut short or corrupt ({type(error).__name__}); what came before is used")
    return notes
