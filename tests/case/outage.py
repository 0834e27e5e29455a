"""A PostgreSQL server of the test's own, stopped and started again on the same data: a store outage."""

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


class PrivatePostgres:
    """One server in a directory of its own on a free port; `stop` refuses every connection until `start`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._data = workdir / "data"
        self._port = _free_port()
        # initdb refuses root: the server runs as the postgres user, which owns the directory.
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(workdir, owner.pw_uid, owner.pw_gid)
        self._run(_binary("initdb"), "-D", str(self._data), "-U", "postgres", "--auth=trust")

    @property
    def url(self) -> str:
        """The admin URL (libpq form) of the `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self._port}/postgres"

    def start(self) -> None:
        options = f"-p {self._port} -k {self._workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self._workdir / "log")
        self._run(_binary("pg_ctl"), "-D", str(self._data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    workdir = Path(tempfile.mkdtemp(prefix="caseloop-pg-outage-"))
    try:
        server = PrivatePostgres(workdir)
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
