"""A private PostgreSQL server a test may stop and start: a real store outage, on a free port of 127.0.0.1.

The machine's shared server is never touched: other tests use it. This one lives in a temporary directory and is
started from Debian's postgresql binaries (installed by `make test`), as tests/support/postgres.py does.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise RuntimeError(f"no {name}: run `make test`, which installs PostgreSQL")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoppablePostgres:
    """One server with one database, `test`; `stop` refuses every connection until `start`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._data = workdir / "data"
        self.port = _free_port()
        # initdb and the server refuse root.
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def admin_url(self) -> str:
        """The admin URL (libpq form) of its `postgres` database, for tests/support/postgres.create_database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The SQLAlchemy async URL of its database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/test"

    def create(self) -> None:
        if self._as:
            user = pwd.getpwnam("postgres")
            os.chown(self._workdir, user.pw_uid, user.pw_gid)
        self._run(_binary("initdb"), "-D", str(self._data), "-U", "postgres", "--auth=trust")
        self.start()
        self._run(_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "test")

    def start(self) -> None:
        options = f"-p {self.port} -k {self._workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _binary("pg_ctl"), "-D", str(self._data), "-o", options, "-l", str(self._workdir / "log"), "-w", "start"
        )

    def ensure_started(self) -> None:
        """Starts it unless it runs: a test that failed mid-outage leaves it stopped for the next."""
        status = subprocess.run([*self._as, _binary("pg_ctl"), "-D", str(self._data), "status"], capture_output=True)
        if status.returncode != 0:
            self.start()

    def stop(self) -> None:
        """Ends every session and refuses connections: what the workers see when the store goes away."""
        self._run(_binary("pg_ctl"), "-D", str(self._data), "-m", "immediate", "-w", "stop")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def stoppable_postgres() -> Iterator[StoppablePostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="caseloop-pg-outage-"))
    server = StoppablePostgres(workdir)
    try:
        server.create()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
