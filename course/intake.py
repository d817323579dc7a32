"""Submissions as students hand them in, sorted out before nbgrader sees them.

:func:`collect` reads a folder laid out as nbgrader collect leaves it,
``<root>/<student>/<assignment>/<notebook>.ipynb``, and returns one
:class:`Submission` per student folder and assignment folder, whatever it
holds. A notebook that can be graded comes back parsed (and, where its
nbgrader metadata was damaged, repaired in memory); anything else comes back
with a not-graded status. Each problem is a status and a line in ``notes``:
:func:`collect` raises for no student's input, and it never writes under
``root``.

Statuses
--------
Graded (``Submission.notebook`` is set):

* ``"ok"``: the notebook is graded exactly as handed in.
* ``"repaired"``: the notebook is graded after changes to its metadata (never
  to a cell's source); ``notes`` says what changed and why.

Not graded (``Submission.notebook`` is ``None``):

* ``"no notebook"``: the assignment folder holds no ``.ipynb`` file.
* ``"unreadable"``: the chosen file is empty, is not UTF-8 or is not JSON
  (``notes`` holds the decoder's error), or could not be read or listed.
* ``"not a notebook"``: JSON that nbformat cannot read as a valid version 4
  notebook (no ``cells``, an unsupported ``nbformat`` version, a cell that
  breaks the schema).
* ``"unknown assignment"``: the folder is named after no assignment of the
  course; the note names the course's assignments.
* ``"no assignment folder"``: the student folder holds no assignment folder at
  all. This is one row with ``assignment == ""``, not one row per assignment.

Folders and files
-----------------
* Names starting with ``"."`` (``.ipynb_checkpoints``, ``.DS_Store``, ...) are
  ignored at every level, and so are plain files directly under ``root``.
  Files directly in a student folder are named in the notes of its
  ``"no assignment folder"`` row, and ignored when it has assignment folders.
* With ``assignments`` given, folders of the course's other assignments are
  skipped (no row); a folder named after no assignment of the course still
  gives an ``"unknown assignment"`` row. A student whose only folders are
  skipped ones gets no row.
* ``Submission.path`` is the file chosen for grading: the notebook with the
  release's name (``spec.notebook``), else the most recently modified
  ``.ipynb`` (ties broken by name). It is set also when that file turns out
  unreadable or not a notebook; the chosen file is never swapped for another
  one. Every other ``.ipynb`` is named in a note ("also found X (not graded)").
  Only files directly in the assignment folder count.

Repairs of the nbgrader metadata
--------------------------------
The graded cells of the release (the locked set-up cell, the answer cells
and the test cells: every cell whose nbgrader metadata has a grade_id and is
marked solution, grade or locked) are matched with the submission's cells:

1. A cell with the same grade_id, the same role (answer, test, or locked
   cell) and the same cell type. When several claim it, an answer prefers a
   cell that defines the function with code other than the release stub, a
   locked cell one whose source equals the release's; then the first one.
2. For a locked cell (set-up, tests) still unmatched: a code cell whose source
   equals the release cell's with whitespace runs collapsed.
3. For an answer cell still unmatched: a code cell that defines the function
   (``def <grade_id>(`` at the start of a line), preferring one that is not
   the unchanged release stub, then the first.
4. For a locked cell still unmatched: the code cell whose source is the most
   similar (``difflib.SequenceMatcher`` ratio above 0.6, whitespace
   collapsed); the most similar pairs are matched first.

A cell is matched at most once, and steps 2 to 4 only take cells that step 1
did not. A matched cell gets a copy of the release cell's nbgrader metadata
(when it differs). Every other cell loses nbgrader metadata that claims a
grade_id (unknown, duplicate, or of the wrong role or cell type), that is not
a JSON object, or that marks the cell graded without a grade_id. Sources,
outputs and the other metadata are left as they are.

Release cells with no match stay missing and get a note: nbgrader's autograde
adds missing test cells back (``add_missing_cells`` is on in
``nbgrader_config.py``), but not answers or the set-up cell. nbgrader inserts
a re-added test cell after the release cell before it, which must then be a
test or answer cell present in the notebook; when it is not, nbgrader 0.9
stops with an error on that notebook, and the note says so.

Notes count cells from 1, in the order of the submitted notebook.
nbformat's own clean-ups are applied and noted too: missing or duplicate cell
ids get fresh ones, a version 3 notebook is converted to version 4, and
metadata that the nbformat schema rejects is stripped
(``nbformat.validator.normalize``) when that makes the notebook valid.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from course import cells, spec

OK = "ok"
REPAIRED = "repaired"
NO_NOTEBOOK = "no notebook"
UNREADABLE = "unreadable"
NOT_A_NOTEBOOK = "not a notebook"
UNKNOWN_ASSIGNMENT = "unknown assignment"
NO_ASSIGNMENT_FOLDER = "no assignment folder"

GRADED = frozenset({OK, REPAIRED})
NOT_GRADED = frozenset({NO_NOTEBOOK, UNREADABLE, NOT_A_NOTEBOOK, UNKNOWN_ASSIGNMENT, NO_ASSIGNMENT_FOLDER})

SIMILARITY = 0.6  # the least SequenceMatcher ratio (exclusive) for a locked cell matched by likeness

_BOM = b"\xef\xbb\xbf"


@dataclass
class Submission:
    student: str
    assignment: str  # "" for a student folder with no assignment folder
    path: Path | None  # the notebook file that will be graded, None if none
    notebook: dict | None  # the (possibly repaired) notebook to grade, None when it cannot be graded
    status: str  # "ok", "repaired", or one of NOT_GRADED
    notes: list[str] = field(default_factory=list)  # human-readable reasons

    @property
    def graded(self) -> bool:
        return self.notebook is not None


def handed_in(notebooks: dict[str, dict[str, dict]]) -> list[Submission]:
    """Submissions made in memory (``notebooks[student][assignment] = notebook``): the demo class,
    benchmarks, tests. Graded as they are, like a folder's notebook with status ``"ok"``."""
    return [Submission(student, assignment, None, notebook, OK)
            for student, per_assignment in notebooks.items() for assignment, notebook in per_assignment.items()]


def collect(root: Path, assignments: list[str] | None = None) -> list[Submission]:
    """One :class:`Submission` per ``root/<student>/<assignment>/`` folder, sorted by student, assignment.

    ``assignments`` limits the rows to these assignments (ids, numbers or
    short names as :func:`course.spec.resolve` takes them; an unknown one
    raises ``KeyError``); by default every assignment of the course. ``root``
    must be a folder (else ``NotADirectoryError``); nothing under it is
    written.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder of submissions (<student>/<assignment>/<notebook>.ipynb)")
    known = spec.ids()
    wanted = known if assignments is None else [spec.resolve(a) for a in assignments]
    rows: list[Submission] = []
    for student_dir in _visible(root):
        if not student_dir.is_dir():
            continue
        student = student_dir.name
        try:
            entries = _visible(student_dir)
        except OSError as error:
            rows.append(Submission(student, "", None, None, UNREADABLE, [f"cannot list the student folder: {error}"]))
            continue
        folders = [e for e in entries if e.is_dir()]
        if not folders:
            notes = [f"no assignment folder: expected {student}/<assignment>/<notebook>.ipynb with <assignment> "
                     f"one of {', '.join(known)}"]
            notes += [f"found {e.name} directly in the student folder (not graded)" for e in entries]
            rows.append(Submission(student, "", None, None, NO_ASSIGNMENT_FOLDER, notes))
            continue
        for folder in folders:
            if folder.name in wanted:
                rows.append(_submission(student, folder.name, folder))
            elif folder.name not in known:
                rows.append(_unknown(student, folder.name, known))
    rows.sort(key=lambda row: (row.student, row.assignment))
    return rows


# ---------------------------------------------------------------------------
# Folders and files
# ---------------------------------------------------------------------------


def _visible(folder: Path) -> list[Path]:
    """The entries of ``folder`` not starting with ".", sorted by name (``OSError`` if it cannot be listed)."""
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def _unknown(student: str, name: str, known: list[str]) -> Submission:
    note = f"unknown assignment folder {name!r}; the course has: {', '.join(known)}"
    try:
        guess = spec.resolve(name)
    except KeyError:
        guess = None
    if guess:
        note += f" (did you mean {guess}?)"
    return Submission(student, name, None, None, UNKNOWN_ASSIGNMENT, [note])


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _submission(student: str, assignment: str, folder: Path) -> Submission:
    release_name = spec.load(assignment).notebook
    try:
        entries = _visible(folder)
    except OSError as error:
        return Submission(student, assignment, None, None, UNREADABLE, [f"cannot list the folder: {error}"])
    found = [e for e in entries if e.suffix.lower() == ".ipynb" and e.is_file()]
    if not found:
        notes = [f"no .ipynb file in {student}/{assignment}/; expected {release_name}"]
        if entries:
            notes.append("found only: " + ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries))
        return Submission(student, assignment, None, None, NO_NOTEBOOK, notes)
    named = [e for e in found if e.name == release_name]
    if named:
        chosen = named[0]
        notes = []
    else:
        chosen = max(found, key=lambda p: (_mtime(p), p.name))
        if len(found) == 1:
            notes = [f"graded {chosen.name}; the release calls it {release_name}"]
        else:
            notes = [f"graded {chosen.name}, the most recently modified of {len(found)} notebooks; "
                     f"none is named {release_name}"]
    notes += [f"also found {e.name} (not graded)" for e in found if e != chosen]
    try:
        data = chosen.read_bytes()
    except OSError as error:
        return Submission(student, assignment, chosen, None, UNREADABLE, notes + [f"cannot read the file: {error}"])
    notebook, status, more = _parse(data)
    notes += more
    if notebook is not None:
        changed, repairs = repair(notebook, assignment)
        notes += repairs
        if changed:
            status = REPAIRED
    return Submission(student, assignment, chosen, notebook, status, notes)


# ---------------------------------------------------------------------------
# Reading a notebook
# ---------------------------------------------------------------------------


def _schema_error(error: Exception) -> str:
    """The first line of an nbformat validation error, with where in the notebook it is."""
    message = getattr(error, "message", None) or str(error)
    message = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    where = "/".join(str(p) for p in getattr(error, "absolute_path", ()) or ())
    return f"{message} (at {where})" if where else message


def _parse(data: bytes):
    """``(notebook, status, notes)`` for a file's bytes; status "ok" or "repaired" when readable."""
    import nbformat
    from nbformat.validator import normalize

    if not data.strip():
        return None, UNREADABLE, ["empty file"]
    notes: list[str] = []
    if data.startswith(_BOM):
        data = data[len(_BOM):]
        notes.append("UTF-8 byte order mark removed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, UNREADABLE, [f"not UTF-8 text: {error}"]
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        return None, UNREADABLE, [f"invalid JSON: {error}"]
    if not isinstance(raw, dict):
        return None, NOT_A_NOTEBOOK, [f"the JSON is {type(raw).__name__ if raw is not None else 'null'}, "
                                      "not a notebook object"]
    version = raw.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool):
        return None, NOT_A_NOTEBOOK, [f"no nbformat version number (nbformat: {version!r})"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many kinds on malformed input
        return None, NOT_A_NOTEBOOK, [f"nbformat cannot read it as version 4: {_schema_error(error)}"]
    if version != 4:
        notes.append(f"converted from nbformat {version} to 4")
    elif isinstance(raw.get("cells"), list) and len(raw["cells"]) == len(notebook.cells):
        for number, (before, after) in enumerate(zip(raw["cells"], notebook.cells), start=1):
            old = before.get("id") if isinstance(before, dict) else None
            if old != after.get("id"):
                notes.append(f"cell {number}: {'duplicate' if old else 'missing'} cell id replaced by a fresh one")
    try:
        nbformat.validate(notebook)
    except Exception as error:
        reason = _schema_error(error)
        try:
            _, fixed = normalize(notebook, strip_invalid_metadata=True)
            fixed = nbformat.from_dict(fixed)
            nbformat.validate(fixed)
        except Exception:
            return None, NOT_A_NOTEBOOK, [f"not a valid nbformat 4 notebook: {reason}"]
        notebook = fixed
        notes.append(f"metadata that nbformat's schema rejects removed ({reason})")
    return notebook, (REPAIRED if notes else OK), notes


# ---------------------------------------------------------------------------
# Repairing the nbgrader metadata
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Graded:
    """A graded cell of the release."""

    grade_id: str
    role: str  # "answer", "test" or "locked"
    cell_type: str
    meta: dict
    text: str  # source with whitespace runs collapsed


def _role(meta) -> str | None:
    if not isinstance(meta, dict):
        return None
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test"
    if meta.get("locked"):
        return "locked"
    return None


def _flat(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=None)
def _release(assignment: str) -> tuple[_Graded, ...]:
    """The graded cells of the assignment's release notebook, in order."""
    notebook = cells.read(cells.release_notebook(spec.load(assignment)))
    graded = []
    for cell in notebook["cells"]:
        meta = cells.grading_meta(cell)
        if _role(meta) and meta.get("grade_id"):
            graded.append(_Graded(meta["grade_id"], _role(meta), cell["cell_type"], copy.deepcopy(dict(meta)),
                                  _flat(cells.source(cell))))
    return tuple(graded)


def _claim(cell) -> tuple[str, str] | None:
    """``(grade_id, role)`` that a submitted cell's nbgrader metadata claims, if any."""
    meta = cell.get("metadata", {}).get("nbgrader")
    role = _role(meta)
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    if role and isinstance(gid, str) and gid:
        return gid, role
    return None


def _defines(cell, function: str) -> bool:
    return cell.get("cell_type") == "code" and re.search(
        rf"^def\s+{re.escape(function)}\s*\(", cells.source(cell), re.MULTILINE) is not None


def repair(notebook: dict, assignment: str) -> tuple[bool, list[str]]:
    """Match the notebook's cells with the release's graded cells and fix their nbgrader metadata in place.

    Returns ``(changed, notes)``; the rules are in this module's docstring.
    Only ``metadata["nbgrader"]`` of cells changes.
    """
    import nbformat

    release = _release(assignment)
    nb_cells = notebook["cells"]
    match: dict[int, int] = {}  # release position -> submitted cell index
    how: dict[int, str] = {}
    taken: set[int] = set()

    def take(r: int, i: int, reason: str) -> None:
        match[r] = i
        how[r] = reason
        taken.add(i)

    def fresh(graded: _Graded, i: int) -> bool:
        return _flat(cells.source(nb_cells[i])) != graded.text

    # 1. the same grade_id, role and cell type
    for r, graded in enumerate(release):
        claims = [i for i, c in enumerate(nb_cells) if i not in taken and _claim(c) == (graded.grade_id, graded.role)
                  and c.get("cell_type") == graded.cell_type]
        if not claims:
            continue
        if graded.role == "answer":
            ranked = sorted(claims, key=lambda i: (not _defines(nb_cells[i], graded.grade_id),
                                                   not fresh(graded, i), i))
        else:
            ranked = sorted(claims, key=lambda i: (fresh(graded, i), i))
        take(r, ranked[0], "")

    code = [i for i, c in enumerate(nb_cells) if c.get("cell_type") == "code"]

    # 2. locked cells: the same source
    for r, graded in enumerate(release):
        if r in match or graded.role == "answer" or graded.cell_type != "code":
            continue
        same = [i for i in code if i not in taken and not fresh(graded, i)]
        if same:
            take(r, same[0], "same source")

    # 3. answer cells: a cell that defines the function
    for r, graded in enumerate(release):
        if r in match or graded.role != "answer" or graded.cell_type != "code":
            continue
        defining = [i for i in code if i not in taken and _defines(nb_cells[i], graded.grade_id)]
        if defining:
            take(r, min(defining, key=lambda i: (not fresh(graded, i), i)), f"defines {graded.grade_id}()")

    # 4. locked cells: the most similar source
    pairs = []
    for r, graded in enumerate(release):
        if r in match or graded.role == "answer" or graded.cell_type != "code":
            continue
        for i in code:
            if i in taken:
                continue
            matcher = difflib.SequenceMatcher(None, graded.text, _flat(cells.source(nb_cells[i])), autojunk=False)
            if matcher.real_quick_ratio() > SIMILARITY and matcher.quick_ratio() > SIMILARITY:
                ratio = matcher.ratio()
                if ratio > SIMILARITY:
                    pairs.append((-ratio, r, i))
    for negative, r, i in sorted(pairs):
        if r not in match and i not in taken:
            take(r, i, f"similar source, {-negative:.0%}")

    changed = False
    notes: list[str] = []
    holder = {release[r].grade_id: i for r, i in match.items()}

    for r, i in sorted(match.items(), key=lambda item: item[1]):
        graded = release[r]
        cell = nb_cells[i]
        metadata = cell.setdefault("metadata", nbformat.NotebookNode())
        old = metadata.get("nbgrader")
        if old != graded.meta:
            if how[r]:
                notes.append(f"cell {i + 1}: nbgrader metadata restored ({graded.grade_id}: {how[r]})")
            else:
                keys = sorted(set(graded.meta) | set(old)) if isinstance(old, dict) else []
                differ = [k for k in keys if old.get(k) != graded.meta.get(k)]
                notes.append(f"cell {i + 1}: nbgrader metadata of {graded.grade_id} differed from the release "
                             f"({', '.join(differ)}); restored")
            metadata["nbgrader"] = nbformat.from_dict(copy.deepcopy(graded.meta))
            changed = True
        if graded.role == "answer" and not _defines(cell, graded.grade_id):
            elsewhere = [j + 1 for j in code if j != i and _defines(nb_cells[j], graded.grade_id)]
            notes.append(f"cell {i + 1}, the answer cell of {graded.grade_id}, does not define {graded.grade_id}()"
                         + (f"; cell {', '.join(map(str, elsewhere))} does" if elsewhere else ""))

    # claims that no release cell gave them
    release_ids = {g.grade_id for g in release}
    for i, cell in enumerate(nb_cells):
        if i in taken or "nbgrader" not in cell.get("metadata", {}):
            continue
        meta = cell["metadata"]["nbgrader"]
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(meta, dict):
            note = "nbgrader metadata that is not an object removed"
        elif gid is None or gid == "":
            if not _role(meta) and not meta.get("task"):
                continue  # an ungraded cell's leftover flags: nbgrader ignores them
            note = "nbgrader metadata without a grade_id removed"
        elif not isinstance(gid, str) or gid not in release_ids:
            note = f"unknown grade_id {gid!r} removed"
        elif gid in holder:
            note = f"duplicate grade_id {gid!r} removed (cell {holder[gid] + 1} has it)"
        else:
            note = f"grade_id {gid!r} removed: the cell's role or type differs from the release's {gid} cell"
        del cell["metadata"]["nbgrader"]
        notes.append(f"cell {i + 1}: {note}")
        changed = True

    # release cells with no match
    for r, graded in enumerate(release):
        if r in match:
            continue
        if graded.role == "answer":
            inside = [j + 1 for j in sorted(taken) if _defines(nb_cells[j], graded.grade_id)]
            note = f"no answer for {graded.grade_id} found"
            if inside:
                note += f" (cell {inside[0]} defines it but holds another graded cell)"
        elif graded.role == "test":
            note = f"test cell {graded.grade_id} not found; nbgrader adds it back when grading"
            blocker = _readd_blocker(release, match, r)
            if blocker:
                note += (f", but it cannot: {blocker}, the graded cell before it in the release, is missing or is "
                         "not a test or answer cell, and nbgrader stops with an error on this notebook")
        else:
            note = (f"locked cell {graded.grade_id} not found; nbgrader does not add it back, so the notebook "
                    "runs without it")
        notes.append(note)
    return changed, notes


def _readd_blocker(release: tuple[_Graded, ...], match: dict[int, int], r: int) -> str | None:
    """The grade_id that keeps nbgrader 0.9 from re-adding the missing test cell ``release[r]``, if any.

    nbgrader inserts it after the release's previous graded cell, looked up
    among the notebook's test and answer cells (or re-added test cells); a
    missing answer or a locked cell there raises ``KeyError`` in nbgrader.
    """
    while r > 0:
        previous = release[r - 1]
        if previous.role == "test" and r - 1 not in match:
            r -= 1  # re-added just before, if it can be
            continue
        if previous.role in ("test", "answer") and r - 1 in match:
            return None
        return previous.grade_id
    return None
