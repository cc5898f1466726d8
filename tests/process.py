"""Run the sandbox as a real process, the way users do."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

URL_LINE = re.compile(r"listening on (http://\S+)")


class SandboxProcess:
    def __init__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")}
        full_env = {**inherited, **(env or {})}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "betcore_sandbox", *args],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._queue.put(raw.decode().rstrip("\n"))
        self._queue.put(None)

    def wait_listening(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while self.url is None:
            line = self.read_line(deadline - time.monotonic())
            if line is None:
                raise AssertionError(f"sandbox did not start: {self.lines}")
            match = URL_LINE.search(line)
            if match is None and line.startswith("{"):
                event = json.loads(line)
                if event.get("message") == "listening":
                    self.url = event["url"]
            elif match:
                self.url = match.group(1)
        return self.url

    def read_line(self, timeout: float) -> str | None:
        try:
            line = self._queue.get(timeout=max(timeout, 0.001))
        except queue.Empty:
            return None
        if line is not None:
            self.lines.append(line)
        return line

    def lines_until(self, predicate, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(deadline - time.monotonic())
            if line is None:
                raise AssertionError(f"no matching line in {self.lines}")
            if predicate(line):
                return line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            self.close()
        while self.read_line(0.001) is not None:
            pass
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 20.0,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "betcore_sandbox", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=input,
        capture_output=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def listening(*args: str) -> Iterator[SandboxProcess]:
    """A sandbox process started with `args`, listening, stopped afterwards (a module fixture's body)."""
    sandbox = SandboxProcess(*args)
    try:
        sandbox.wait_listening()
        yield sandbox
    finally:
        sandbox.stop()
