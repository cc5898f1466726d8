"""Build and run the Dockerfile without a Docker daemon: buildah with chroot isolation, a debootstrap base."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BASE_IMAGE = "localhost/betcore-base:bookworm-python"
IMAGE = "localhost/betcore-sandbox:test"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def missing_tools() -> str | None:
    """Why the image cannot be built here, or None."""
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install buildah debootstrap)"
    if os.geteuid() != 0:
        return "building with buildah --isolation chroot needs root"
    return None


def buildah(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout, check=check)


def ensure_base() -> str:
    """A Debian image with python3 and venv, made by debootstrap once and kept in buildah's store."""
    override = os.environ.get("BETCORE_SANDBOX_DOCKER_BASE")
    if override:
        return override
    if buildah("images", "-q", BASE_IMAGE, check=False).stdout.strip():
        return BASE_IMAGE
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            capture_output=True,
            check=True,
            timeout=1200,
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        container = buildah("from", "scratch").stdout.strip()
        try:
            mount = buildah("mount", container).stdout.strip()
            subprocess.run(["cp", "-a", f"{rootfs}/.", mount], check=True)
            buildah("umount", container)
            buildah("commit", "-q", container, BASE_IMAGE)
        finally:
            buildah("rm", container, check=False)
    return BASE_IMAGE


def build(context: Path, base: str) -> None:
    args = [
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "-q",
        "-f",
        str(context / "Dockerfile"),
        "-t",
        IMAGE,
        "--build-arg",
        f"BASE_IMAGE={base}",
    ]
    if HOST_CA.exists():  # pip inside the build trusts what the host trusts (TLS-inspecting proxies)
        args += ["-v", f"{HOST_CA}:/etc/ssl/certs/host-ca.crt:ro", "--build-arg", "PIP_CERT=/etc/ssl/certs/host-ca.crt"]
    buildah(*args, str(context), timeout=900)


def image_config() -> dict:
    return json.loads(buildah("inspect", "--type", "image", IMAGE).stdout)["Docker"]["config"]


def image_size() -> str:
    """As buildah reports it, e.g. '214 MB'."""
    return json.loads(buildah("images", "--json", IMAGE).stdout)[0]["size"]


def start(command: list[str], env: dict[str, str], volumes: tuple[str, ...] = ()) -> tuple[str, subprocess.Popen]:
    """Run `command` in a fresh container of the image, on the host's network, like `docker run`."""
    container = buildah("from", "-q", IMAGE).stdout.strip()
    args = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    for name, value in env.items():
        args += ["-e", f"{name}={value}"]
    for volume in volumes:
        args += ["-v", volume]
    process = subprocess.Popen(
        [*args, container, "--", *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return container, process


def run_in(container: str, command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    args = ["run", "--isolation", "chroot", "--network", "host"]
    for name, value in env.items():
        args += ["-e", f"{name}={value}"]
    return buildah(*args, container, "--", *command, check=False, timeout=30)


def remove(container: str) -> None:
    buildah("rm", container, check=False)


def descendants(pid: int) -> list[int]:
    """Every process below pid (the container's processes share the host's process table under chroot)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def process_uid_and_args(pid: int) -> tuple[int, list[str]]:
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return uid, [a for a in args if a]
