"""Where MLflow may write, checked before any work: the tracking URI, the experiment's name, and a SQLite store.

A SQLite store is made whole or not at all (created and migrated in a temp file beside it, then linked into
place, one process at a time under a lock on its folder), and an existing one is read before use: a damaged store
is said to be damaged, with what to do, never taken for a tracker that is down. A store or artifact folder inside
a run directory is used only where it is: a link planted there is refused, never followed.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.rundir import MLARTIFACTS
from liteship.files import default_mode, kernel_tree, temp_name

SQLITE = "sqlite:///"
SERVER_SCHEMES = ("http", "https")
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")  # SQLAlchemy stores, with or without a +driver
URI_CHARS = "?#%"  # a query, a fragment, an escape: SQLAlchemy and MLflow read them differently in a sqlite URI
MAX_EXPERIMENT = 256  # MLflow's experiments.name column (VARCHAR(256)), enforced by PostgreSQL and MySQL
TABLES = ("experiments", "runs", "metrics", "latest_metrics", "params", "tags", "experiment_tags", "datasets",
          "inputs")  # MLflow's tracking tables a store made by `liteship track` holds
LOCK_SECONDS = 120


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///PATH`` URI, as MLflow reads it; None for any other URI."""
    return Path(uri[len(SQLITE):]) if uri.startswith(SQLITE) else None


def uri_problem(uri: str, folder_made: bool = False) -> tuple[str, str] | None:
    """(why, fix) when liteship cannot log to ``uri``; None for a URI MLflow serves. ``folder_made``: a sqlite
    file's folder is made by liteship (the run directory), so it need not exist yet."""
    examples = "sqlite:///PATH/mlflow.db (a file in an existing folder) or a server's http://HOST:PORT"
    if uri != uri.strip():
        return "it has spaces around it", "remove them"
    try:
        parsed = urllib.parse.urlsplit(uri)
        port = parsed.port if parsed.scheme.lower() in SERVER_SCHEMES else None
    except ValueError as exc:
        if "port" in str(exc).lower():
            return "its port is not a number from 1 to 65535", f"use {examples}"
        return f"it is not a well-formed URI ({exc})", f"use {examples}"
    scheme = parsed.scheme.split("+")[0].lower() if "://" in uri else ""
    if scheme == "sqlite":
        return _sqlite_problem(uri, folder_made)
    if scheme in SERVER_SCHEMES:
        if not parsed.hostname or port == 0:
            return "it names no host (or port 0)", f"give a server's address, e.g. {scheme}://HOST:5000"
        return None
    if scheme in DATABASE_SCHEMES:
        return _driver_problem(uri)
    if uri == "databricks" or (scheme == "databricks" and parsed.netloc):
        import importlib.util

        if importlib.util.find_spec("databricks") and importlib.util.find_spec("databricks.sdk"):
            return None
        return ("MLflow reads Databricks credentials with the databricks-sdk package, not installed here",
                "install it (pip install databricks-sdk)")
    if scheme == "file" or not scheme:
        return ("a folder store (file: or a plain path) puts MLflow's files beside the user's, and MLflow is "
                "retiring it", f"use {examples}")
    return f"MLflow has no store for {uri.split('://', 1)[0]}://", f"use {examples}"


def _driver_problem(uri: str) -> tuple[str, str] | None:
    """A database URI whose SQLAlchemy driver is not installed: found now, not after the sweep."""
    try:
        from sqlalchemy.engine import make_url

        make_url(uri).get_dialect().import_dbapi()
    except ImportError as exc:
        return (f"its database driver ({exc.name}) is not installed here",
                f"install it (pip install {exc.name}), or log to a server's http://HOST:PORT")
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many kinds of "cannot read this URI"
        return f"SQLAlchemy cannot read it ({' '.join(str(exc).split())[:200]})", "fix the URI"
    return None


def _sqlite_problem(uri: str, folder_made: bool) -> tuple[str, str] | None:
    path = sqlite_file(uri)
    if path is None or uri[len(SQLITE):] in ("", ":memory:"):
        return "it names no database file (an in-memory store keeps nothing)", "use sqlite:///PATH/mlflow.db"
    if not _utf8(str(path)):
        return ("its path has bytes that are not UTF-8 text, which SQLAlchemy and MLflow cannot name",
                "use a path of UTF-8 text")
    if any(c in str(path) for c in URI_CHARS):
        return (f"its path holds one of {' '.join(URI_CHARS)}, which SQLAlchemy reads as a query, fragment or escape "
                "while MLflow reads it as a name, so the store would land at another path",
                "use a path without those characters")
    if not folder_made and not path.parent.is_dir():
        return (f"its folder {path.parent} does not exist (MLflow would make it, somewhere nobody asked for)",
                "make the folder first, or fix the path")
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name's undecodable bytes, kept as surrogates
        return False
    return True


def experiment_problem(name: str) -> tuple[str, str] | None:
    if not name.strip():
        return "it is empty", "give the experiment a name"
    if not _utf8(name):
        return "it has bytes that are not UTF-8 text (from the run directory's name?)", "give --experiment NAME"
    if len(name) > MAX_EXPERIMENT:
        return (f"it has {len(name)} characters; MLflow stores at most {MAX_EXPERIMENT}",
                f"use a shorter name (at most {MAX_EXPERIMENT} characters)")
    return None


def links_in(folder: Path) -> list[Path]:
    """``folder`` itself when it is a link, else every link below it (an artifact tree is small)."""
    if folder.is_symlink():
        return [folder]
    found = []
    for root, dirs, files in os.walk(folder):
        found += [Path(root, n) for n in dirs + files if Path(root, n).is_symlink()]
    return found


def _schema_head() -> str | None:
    """The schema revision this MLflow makes and expects (its migrations' head), None when it cannot be read."""
    try:
        import importlib.util

        from alembic.config import Config
        from alembic.script import ScriptDirectory

        spec = importlib.util.find_spec("mlflow")
        config = Config()
        config.set_main_option("script_location", str(Path(spec.origin).parent / "store" / "db_migrations"))
        heads = ScriptDirectory.from_config(config).get_heads()
    except Exception:  # noqa: BLE001 - without it the other checks still run
        return None
    return heads[0] if len(heads) == 1 else None


def not_a_store(path: Path) -> str | None:
    """Why the file at ``path`` is no MLflow store at all, read without opening anything but a regular SQLite file
    outside /proc, /sys and /dev; None when it is an SQLite file, or absent."""
    tree = kernel_tree(path)
    if tree is not None:
        return f"it is in {tree}, which holds the system's files, not databases"
    if not path.exists():
        return None
    if not path.is_file():
        return "it is a folder, not a database file" if path.is_dir() else "it is not a regular file"
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        return "it is empty" if not head else "it is not an SQLite database"
    return None


def _read_schema(path: Path) -> tuple[str, set[str], list[str]]:
    """SQLite's quick check, the tables, and MLflow's schema versions of the database at ``path`` (read only)."""
    con = sqlite3.connect(f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
    try:
        check = con.execute("PRAGMA quick_check").fetchone()[0]
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = [r[0] for r in con.execute("SELECT version_num FROM alembic_version")] \
            if "alembic_version" in tables else []
    finally:
        con.close()
    return check, tables, versions


def store_damage(path: Path) -> tuple[str, bool] | None:
    """(why, foreign) when the file at ``path`` is not a whole MLflow store of this MLflow: ``foreign`` when it is
    no MLflow store at all (not SQLite, or an SQLite database without MLflow's tables), else damaged (unreadable, a
    table missing, another schema revision). None when it is whole, or absent."""
    why = not_a_store(path)
    if why is not None:
        return why, True
    if not path.exists():
        return None
    try:
        check, tables, versions = _read_schema(path)
    except sqlite3.Error as exc:
        return f"SQLite cannot read it ({exc})", False
    if check != "ok":
        return f"SQLite's integrity check fails ({str(check)[:200]})", False
    missing = [t for t in TABLES if t not in tables]
    if len(missing) == len(TABLES) and "alembic_version" not in tables:
        shown = ", ".join(sorted(tables)[:5]) or "none"
        return f"it holds none of MLflow's tables (its tables: {shown})", True
    if missing or len(versions) != 1:
        return f"MLflow's tables are not all there (missing: {', '.join(missing) or 'its schema version'})", False
    head = _schema_head()
    if head is not None and versions[0] != head:
        return (f"its schema is at revision {versions[0]}, not {head} as this MLflow makes it (a creation or upgrade "
                "stopped half-way, or another MLflow version made it)"), False
    return None


def damaged(path: Path, why: str, run_dir) -> LiteshipError:
    return LiteshipError(f"The MLflow store {path} is damaged", why,
                         f"move it away (mv '{path}' '{path}.broken'), then run `liteship track {run_dir}` to log the "
                         "run directory again into a new store")


@contextmanager
def folder_lock(folder: Path, seconds: float = LOCK_SECONDS):
    """An exclusive lock on ``folder`` itself (flock on its descriptor: no file is made), held for the block."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; MLflow's own file lock is all there is
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LiteshipError(f"Another process has held {folder} for {seconds:.0f} s",
                                        "liteship makes a SQLite store one process at a time",
                                        "wait for the other `liteship track` or sweep to end") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def ensure_store(path: Path, artifacts_uri: str | None) -> None:
    """Make the SQLite store at ``path`` if there is none: created and migrated in a temp file beside it, then linked
    into place, so an interrupted creation leaves no store (only a temp file liteship removes), and two processes
    making it at once make it once."""
    path = Path(path).absolute()
    if path.exists() or path.is_symlink():
        return  # made before: no lock needed to use it
    with folder_lock(path.parent):
        if path.exists() or path.is_symlink():
            return
        fd, tmp = tempfile.mkstemp(prefix=temp_name(path.name), suffix=".tmp", dir=path.parent)
        os.fchmod(fd, default_mode())  # as MLflow would make it: mkstemp's 0600 is for building it
        os.close(fd)
        try:
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = SqlAlchemyStore(f"{SQLITE}{tmp}", artifacts_uri or (path.parent / MLARTIFACTS).as_uri())
            store.engine.dispose()
            try:
                os.link(tmp, path)  # never replaces a store that appeared meanwhile
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    return
                os.rename(tmp, path)  # a file system without hard links; the lock keeps liteship's others out
        finally:
            Path(tmp).unlink(missing_ok=True)
