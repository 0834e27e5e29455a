"""A real Prometheus for the tests: Debian's `prometheus` on loopback, scraping given targets every second."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.embedded_stack import free_ports

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
MISSING = "Debian's prometheus package is not installed (make test installs it: tests/support/ensure-prometheus.sh)"
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None, reason=MISSING)


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expression: str) -> list[dict[str, Any]]:
        """An instant query's result vector; fails the test on a query Prometheus refuses."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=10).json()
        assert answer["status"] == "success", f"{expression!r}: {answer}"
        return list(answer["data"]["result"])

    def rules(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()
        return [rule for group in answer["data"]["groups"] for rule in group["rules"]]

    def wait_for(self, expression: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Polls until `expression` has a result (a scrape or two away); a wait, not a timing assertion."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expression)
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus had no result for {expression!r} within {timeout}s")
            time.sleep(0.5)


@contextmanager
def running_prometheus(directory: Path, jobs: dict[str, list[str]], rule_files: list[Path]) -> Iterator[Prometheus]:
    """Prometheus scraping each job's `host:port` targets every second, with `rule_files` loaded."""
    assert PROMETHEUS is not None, MISSING
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in jobs.items()
        ],
    }
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    (port,) = free_ports(1)
    log = directory / "prometheus.log"
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus was not ready in 60s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Prometheus(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
