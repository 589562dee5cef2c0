"""Backup and restore of a gateway's data directory.

A backup is a gzip'd tar with a ``MANIFEST.json`` (every file with its size and SHA-256). The
SQLite database is copied with SQLite's online backup API, so a backup taken while `alliance up`
runs is consistent; the node's state file is copied as it is (the transaction journal in the
database rebuilds whatever it lacks). A PostgreSQL database is not in the archive: back it up
with pg_dump (the manifest says so). Keystores stay encrypted; no passphrase is needed to back up.
Restoring checks every digest before anything is written, into a data directory that must not exist.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from chain.config import Settings

FORMAT = "alliance-ledger/backup@1"
SKIP = {"node/anvil.pid", "node/anvil.log"}


class BackupError(ValueError):
    """The archive is missing, unreadable, fails its digests, or the target exists."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def create_backup(settings: Settings, out: Path) -> dict:
    """Write a backup of ``settings.data_dir`` to ``out`` (a .tar.gz); return its manifest."""
    root = settings.data_dir
    url = settings.effective_database_url
    sqlite_path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "data"
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or rel in SKIP or rel.startswith("state.json.unreadable"):
                continue
            if sqlite_path and path.resolve().parent == sqlite_path.parent and path.name.startswith(
                    sqlite_path.name):
                continue  # the database, and its -wal / -shm files: copied consistently below
            target = staged / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        if sqlite_path is not None and sqlite_path.exists():
            rel = sqlite_path.resolve().relative_to(root.resolve()).as_posix() if sqlite_path.resolve().is_relative_to(
                root.resolve()) else "gateway.db"
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            src, dst = sqlite3.connect(sqlite_path), sqlite3.connect(staged / rel)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        files = {p.relative_to(staged).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
                 for p in sorted(staged.rglob("*")) if p.is_file()}
        manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "source": str(root), "files": files,
                    "database": "included (SQLite online backup)" if sqlite_path else
                    "not included: PostgreSQL — back it up with pg_dump at the same time"}
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            for rel in files:
                tar.add(staged / rel, arcname=f"data/{rel}")
    return manifest


def restore_backup(archive: Path, data_dir: Path) -> dict:
    """Restore ``archive`` into the new directory ``data_dir``; return its manifest."""
    data_dir = Path(data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} exists and is not empty; restore into a new directory")
    try:
        tar = tarfile.open(archive, "r:gz")
    except (FileNotFoundError, tarfile.TarError, OSError) as exc:
        raise BackupError(f"cannot read backup {archive}: {exc}") from None
    with tar, tempfile.TemporaryDirectory() as tmp:
        try:
            manifest = json.load(tar.extractfile("MANIFEST.json"))
        except (KeyError, ValueError, TypeError):
            raise BackupError(f"{archive} has no readable MANIFEST.json") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive} is not an Alliance Ledger backup ({manifest.get('format')!r})")
        tar.extractall(tmp, filter="data")
        staged = Path(tmp) / "data"
        for rel, meta in manifest["files"].items():
            path = staged / rel
            if not path.is_file() or _sha256(path) != meta["sha256"]:
                raise BackupError(f"backup file {rel} is missing or fails its SHA-256; nothing was restored")
        extra = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()} - set(manifest["files"])
        if extra:
            raise BackupError(f"backup holds files not in its manifest: {sorted(extra)[:3]}; nothing was restored")
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, data_dir, dirs_exist_ok=True)
    return manifest
