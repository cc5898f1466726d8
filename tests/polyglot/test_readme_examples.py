"""The examples of "Signing in your language" (docs/signing.md) and of the Postman collection (docs/contracts.md):
their links lead to files, and their commands (PHP, Go, Node.js, Java, newman) print what the pages show, against a
sandbox process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from ..conftest import REPO
from ..test_readme import blocks, matches, page_text
from .tools import LANGUAGES, NEWMAN, require, tool_env

PAGES = ("docs/signing.md", "docs/contracts.md")
SECTION = page_text("docs/signing.md").split("## Signing in your language", 1)[1] + page_text("docs/contracts.md")


def examples() -> list[tuple[str, tuple[str, str, str]]]:
    items = [block for page in PAGES for block in blocks(page)]
    return [
        (body, items[i + 1])
        for i, (lang, body, marker) in enumerate(items)
        if marker == "polyglot" and lang == "bash" and items[i + 1][0] in ("json", "text")
    ]


def test_the_section_links_every_snippet_and_the_collection():
    # The pages are in docs/: their links are relative to it.
    links = {
        str((REPO / "docs" / link).resolve().relative_to(REPO))
        for link in re.findall(r"\]\(((?:signing|\.\./postman|\.\./tests)/[^)#]*)\)", SECTION)
    }
    assert {"docs/signing/sign.php", "docs/signing/sign.js", "docs/signing/Sign.java", "docs/signing/sign.go"} <= links
    assert {"docs/signing/sign.py", "postman/betcore-sandbox.postman_collection.json"} <= links
    for link in links:
        assert (REPO / link).exists(), link
    assert {Path(command[-1]).name for command, _, _ in LANGUAGES.values()} == {
        p.name for p in (REPO / "docs" / "signing").iterdir()
    }
    assert len(examples()) == 3


@pytest.mark.polyglot
@pytest.mark.timeout(180)
@pytest.mark.parametrize("example", examples(), ids=lambda e: e[0].split()[0])
def test_the_example_prints_what_the_readme_shows(sandbox_url, tmp_path, example):
    script, (lang, expected, _) = example
    for command, tool, package in LANGUAGES.values():
        if command[0] in script.split():
            require(tool, package)
    if "newman" in script:
        require(str(NEWMAN), "npm, then: npm ci --prefix .ci/node")
    urllib.request.urlopen(urllib.request.Request(f"{sandbox_url}/__admin/reset", method="POST"), timeout=5).read()
    env = tool_env(tmp_path)
    env["PATH"] = os.pathsep.join([str(NEWMAN.parent), str(Path(sys.executable).parent), env["PATH"]])
    script = script.replace("http://127.0.0.1:8080", sandbox_url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=150, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if lang == "text":
        assert result.stdout.strip() == expected.strip()
        return
    printed = [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines() if line.strip()]
    wanted = [json.loads(line, parse_float=Decimal) for line in expected.splitlines() if line.strip()]
    assert len(printed) == len(wanted), result.stdout
    for got, want in zip(printed, wanted, strict=True):
        assert matches(got, want), (got, want)


def test_ci_installs_every_tool_and_runs_the_polyglot_tests():
    ci = (REPO / ".ci" / "run").read_text()
    for _, tool, package in LANGUAGES.values():
        if package != "python3":
            assert f"{Path(tool).name}:{package}" in ci, package
    assert "npm:npm" in ci and "npm ci --prefix .ci/node" in ci
    assert re.search(r'\.venv/bin/python -m pytest -m "[^"]*\bor polyglot\b[^"]*"', ci), "polyglot not selected"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "and not polyglot'" in pyproject and '"polyglot: ' in pyproject
    lock = json.loads((REPO / ".ci" / "node" / "package-lock.json").read_text())
    assert (
        lock["packages"]["node_modules/newman"]["version"]
        == json.loads((REPO / ".ci" / "node" / "package.json").read_text())["dependencies"]["newman"]
    )
