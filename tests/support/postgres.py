"""A PostgreSQL server for tests: the one already running on the machine, or a private one started here.

Order: CASELOOP_TEST_PG_URL if set; else 127.0.0.1:5432 (the project's machines and CI run one); else
Debian's postgresql binaries (installed by `make test` when missing) in a temporary directory on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def _reachable_now(url: str) -> bool:
    # Fixtures may run inside the test event loop, so probe from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _reachable(url)).result()


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextlib.contextmanager
def _private_server() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("no PostgreSQL reachable and none installed: run `make test`, which installs it")
    workdir = Path(tempfile.mkdtemp(prefix="caseloop-pg-"))
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        run_as = ["runuser", "-u", "postgres", "--"]
        os.chown(workdir, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
    data = workdir / "data"
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "postgres", "--auth=trust"], check=True, capture_output=True
    )
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", opts, "-l", str(workdir / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                *run_as,
                _pg_bin("createdb") or "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "test",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/test"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an admin URL (plain libpq form) of a server where databases may be created."""
    url = os.environ.get("CASELOOP_TEST_PG_URL")
    if url:
        yield url
        return
    if _reachable_now(DEFAULT_ADMIN_URL):
        yield DEFAULT_ADMIN_URL
        return
    with _private_server() as private:
        yield private


async def create_database(admin_url: str, template: str | None = None) -> tuple[str, str]:
    """Creates an empty database, or a copy of `template`; returns its name and its SQLAlchemy async URL."""
    name = f"caseloop_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
