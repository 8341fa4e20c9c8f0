"""Running the local services' processes: install, spawn, wait until ready, stop."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class StackError(Exception):
    """Root of the local stack's errors: something could not be installed or started."""


def run_command(cmd: list[str]) -> None:
    """Run a set-up command to completion; its output's tail is in the error if it fails."""
    log.info("Running %s", " ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def apt_install(*packages: str) -> None:
    """Install Debian packages (root, or through sudo when available)."""
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise StackError(f"Please install {' '.join(packages)}: this needs root.")
        prefix = ["sudo", "-n"]
    env_prefix = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive"]
    run_command([*prefix, "apt-get", "update", "-qq"])
    run_command([*env_prefix, "apt-get", "install", "-y", "-qq", *packages])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A free loopback port."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open until every one is chosen)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def wait_until_ready(
    what: str,
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes] | None,
    log_file: Path,
    timeout_s: float,
) -> None:
    """Wait until ``ready()``; raise with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
    raise StackError(f"{what} did not become ready. Last lines of {log_file}:\n{tail}")


def read_pid(pid_file: Path) -> int | None:
    """The process id a service wrote when it started, if any."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def spawn(cmd: list[str], log_file: Path, pid_file: Path) -> subprocess.Popen[bytes]:
    """Start a service in a session of its own, logging to ``log_file``; record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        # A session of its own: the service outlives the command that started it.
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    return process


def stop_process(
    process: subprocess.Popen[bytes] | None, pid_file: Path, timeout_s: float, sig: int
) -> bool:
    """Signal the service and wait until it is gone; SIGKILL when it takes too long.

    A process this one started is waited on (a dead child stays visible until reaped);
    one started by an earlier command is found through its pid file.
    """
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        pid_file.unlink(missing_ok=True)
        return True
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink(missing_ok=True)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
