"""Every example in the README and in the pages of docs/ runs, against a real sandbox process, and prints what the
page says."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from betcore_sandbox.fixtures import parse_fixture

from .conftest import REPO
from .process import SandboxProcess

README = (REPO / "README.md").read_text()
# The front door first, then the reference pages; a page is named by its path from the repository's root.
PAGES = ["README.md", *sorted(f"docs/{path.name}" for path in (REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m betcore_sandbox"
TEST = ".venv/bin/python -m pytest"


def page_text(page):
    return (REPO / page).read_text()


def blocks(page=None):
    """(lang, body, marker) of each fenced block of one page, or of every page in order when none is named."""
    if page is None:
        return [block for name in PAGES for block in blocks(name)]
    return [(m["lang"], m["body"], m["marker"]) for m in FENCE.finditer(page_text(page))]


def shell_examples(page=None):
    """(command, expected output block or None) for each shell example that runs against a sandbox.

    A block marked `prelude` defines helpers; it is put in front of every later example of its page."""
    if page is None:
        return [example for name in PAGES for example in shell_examples(name)]
    found = []
    prelude = ""
    items = blocks(page)
    for i, (lang, body, marker) in enumerate(items):
        if lang != "bash" or body.strip() in (INSTALL, TEST):
            continue
        if marker == "prelude":
            prelude += body
            continue
        if marker:
            continue
        following = items[i + 1] if i + 1 < len(items) else None
        expected = following if following and following[0] in ("json", "text") else None
        found.append((prelude + body, expected))
    return found


def matches(actual, expected):
    """Equal, except that an expected string ending in '…' only fixes the start."""
    if isinstance(expected, str) and expected.endswith("…"):
        return isinstance(actual, str) and actual.startswith(expected[:-1])
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(matches(actual[k], v) for k, v in expected.items())
        )
    return actual == expected


def test_the_two_commands_are_the_ones_ci_runs():
    assert f"```bash\n{INSTALL}\n```" in README
    assert f"```bash\n{TEST}\n```" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert ".venv/bin/pip install --quiet -e '.[dev]'" in ci
    assert f"{TEST} ||" in ci


def test_json_fixture_examples_are_valid_fixtures():
    fixtures = [body for lang, body, _ in blocks() if lang == "json" and '"counterparties"' in body]
    assert fixtures
    for body in fixtures:
        parse_fixture(json.loads(body))


def test_the_default_fixture_table_matches_the_fixture(default_fixture):
    table = page_text("docs/configuration.md").split("## The default fixture", 1)[1]
    for counterparty in default_fixture.counterparties:
        assert f"`{counterparty.id}`" in table and f"`{counterparty.secret}`" in table
    for session in default_fixture.sessions:
        assert f"`{session.id}`" in table


@pytest.fixture(scope="module")
def sandbox_url():
    sandbox = SandboxProcess("--port", "0")
    try:
        yield sandbox.wait_listening()
    finally:
        sandbox.stop()


def page_examples(examples_of):
    """(page, index, example) of every page's examples, with ids that name the page and the example's number."""
    return [
        pytest.param(page, index, example, id=f"{page}#{index}")
        for page in PAGES
        for index, example in enumerate(examples_of(page))
    ]


def run_example(command, port, cwd=REPO):
    """Run one shell example as a reader's shell would: the venv's commands first on PATH, the sandbox's port set."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True, timeout=30, cwd=cwd
    )


def assert_prints(result, expected):
    """The example succeeded and printed the block that follows it (json: line by line, `…` ends a prefix)."""
    assert result.returncode == 0, result.stderr.decode()
    if expected is None:
        return
    lang, body, _ = expected
    out = result.stdout.decode()
    if lang == "text":
        assert out.strip() == body.strip()
        return
    printed = [json.loads(line, parse_float=Decimal) for line in out.splitlines() if line.strip()]
    wanted = [json.loads(line, parse_float=Decimal) for line in body.splitlines() if line.strip()]
    assert len(printed) == len(wanted), out
    for got, want in zip(printed, wanted, strict=True):
        assert matches(got, want), (got, want)


def port_of(url):
    return url.rsplit(":", 1)[1]


@pytest.mark.parametrize(("page", "index", "example"), page_examples(shell_examples))
def test_shell_example_prints_what_the_page_shows(sandbox_url, page, index, example):
    """Against a sandbox that earlier examples (any of them, in any order) have used: no reset from the test."""
    command, expected = example
    assert_prints(run_example(command, port_of(sandbox_url)), expected)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("page", [page for page in PAGES if shell_examples(page)])
def test_a_pages_examples_run_in_document_order_against_one_sandbox(page):
    """What a reader does: every shell example of the page, top to bottom, on one fresh sandbox that nothing resets
    between them; each still prints what the page shows."""
    sandbox = SandboxProcess("--port", "0")
    try:
        port = port_of(sandbox.wait_listening())
        for index, (command, expected) in enumerate(shell_examples(page)):
            result = run_example(command, port)
            try:
                assert_prints(result, expected)
            except AssertionError as error:
                raise AssertionError(f"{page}, shell example {index}: {error}") from None
    finally:
        sandbox.stop()


RESET = re.compile(
    r"^(curl [^\n]*-X POST http://127\.0\.0\.1:\$(BETCORE_SANDBOX_PORT|\{BETCORE_SANDBOX_PORT(:-8080)?\})/__admin/reset"
    r"|(betcore-sandbox|python -m betcore_sandbox) reset)\b"
)


def first_command(command, page):
    """The example's first line of its own, after the page's prelude and any comments."""
    prelude = "".join(body for lang, body, marker in blocks(page) if marker == "prelude")
    own = command[len(prelude) :] if command.startswith(prelude) else command
    return next(line for line in own.splitlines() if line.strip() and not line.startswith("#"))


def test_shell_examples_follow_the_port_variable():
    """A reader's sandbox may be on another port: every example reaches it through $BETCORE_SANDBOX_PORT."""
    for page in PAGES:
        for command, _ in shell_examples(page):
            assert "127.0.0.1:8080" not in command, (page, command)


def examples_without_a_reset(page):
    return [
        (command, expected)
        for command, expected in shell_examples(page)
        if not RESET.match(first_command(command, page))
    ]


@pytest.mark.parametrize(("page", "index", "example"), page_examples(examples_without_a_reset))
def test_an_example_without_a_reset_needs_no_sandbox(page, index, example):
    """Each example starts with a reset, so it runs in any order; one that does not must not reach a sandbox at all:
    it prints what the page shows with nothing listening on the port."""
    command, expected = example
    assert_prints(run_example(command, _free_port()), expected)


def test_most_examples_start_with_a_reset():
    """The rule above is not vacuous: the recipes reset, and only offline examples (`sign` with a fixed timestamp,
    `schema`) do not."""
    every = shell_examples()
    offline = [command for page in PAGES for command, _ in examples_without_a_reset(page)]
    assert len(every) >= 20 and 0 < len(offline) <= len(every) // 8
    assert all(re.search(r"(betcore-sandbox|python -m betcore_sandbox) (sign|schema) ", command) for command in offline)


def test_there_are_examples_for_signing_admin_and_every_fault_recipe():
    scripts = "".join(command for command, _ in shell_examples())
    assert "sign GET" in scripts and "__admin/sessions" in scripts and "__admin/audit" in scripts
    for recipe in ('"phase": "after"', '"kind": "timeout"', '"skip": 2', '"seed": 42', '"insufficient_funds"'):
        assert recipe in scripts


def test_testing_time_has_admin_cli_and_pytest_examples():
    scripts = "".join(command for command, _ in shell_examples())
    for needed in ('"advanceMs": 61000', '"advanceMs": 600000', "clock --advance 30m", "clock --set", "clock --real"):
        assert needed in scripts, needed
    sources = "".join(python_examples())
    for needed in ("advance_clock(timedelta", "betcore_sandbox(clock=", "betcore_sandbox_factory(clock="):
        assert needed in sources, needed


def python_examples(page=None):
    return [body for lang, body, marker in blocks(page) if lang == "python" and "def test_" in body and not marker]


@pytest.mark.parametrize(("page", "index", "source"), page_examples(python_examples))
def test_python_examples_pass_under_the_plugin(pytester, page, index, source):
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_readme_example=source)
    result = pytester.runpytest()
    result.assert_outcomes(passed=source.count("def test_"))


def test_there_are_pytest_examples_for_sync_async_marker_factory_and_faults():
    sources = "".join(python_examples())
    for needed in ("urllib.request", "aiohttp", "pytest.mark.betcore_sandbox", "betcore_sandbox_factory", "add_fault"):
        assert needed in sources


def test_docker_examples_match_what_the_image_test_runs():
    docker_blocks = [body for lang, body, marker in blocks() if marker and marker.startswith("docker")]
    assert len(docker_blocks) >= 2
    image_test = (REPO / "tests" / "test_docker.py").read_text()
    dockerfile = (REPO / "Dockerfile").read_text()
    for body in docker_blocks:
        for variable in re.findall(r"BETCORE_SANDBOX_\w+", body):
            assert variable in image_test, variable
        if "-p 8080:8080" in body:
            assert "EXPOSE 8080" in dockerfile and "BETCORE_SANDBOX_PORT=8080" in dockerfile
    compose = next(body for lang, body, _ in blocks("docs/docker.md") if lang == "yaml")
    assert '["CMD", "python", "-m", "betcore_sandbox", "healthcheck"]' in compose
    assert '["python", "-m", "betcore_sandbox", "healthcheck"]' in dockerfile


def test_the_durable_example_survives_a_kill(tmp_path):
    items = blocks("docs/shared-sandbox.md")
    [index] = [i for i, (lang, _, marker) in enumerate(items) if marker and marker.startswith("durable")]
    script, expected = items[index][1], items[index + 1]
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    script = script.replace("8080", str(port))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr.decode()
    assert expected[0] == "json"
    assert json.loads(result.stdout) == json.loads(expected[1])
    assert (tmp_path / "sandbox.db").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- The README as the front door ------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")
LINKED_FILES = ["README.md", *PAGES[1:], "examples/provider/README.md"]


def slugs(markdown):
    """The anchors a Markdown renderer (GitHub's rule) gives the headings of a page."""
    found = set()
    inside_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            inside_code = not inside_code
        elif not inside_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_the_readme_is_a_short_front_door_that_links_every_docs_page():
    lines = README.splitlines()
    assert len(lines) <= 160
    linked = {target.split("#")[0] for target in LINK.findall(README) if target.startswith("docs/")}
    assert linked == set(PAGES[1:]), set(PAGES[1:]) ^ linked
    for heading in ("## Install into your own project", "## Two commands", "## Five minutes", "## In pytest"):
        assert heading in lines, heading
    # The start command keeps the terminal: the reader is told where the rest goes.
    assert "stays in the foreground" in README and "second terminal" in README


@pytest.mark.parametrize("name", LINKED_FILES)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(name):
    source = REPO / name
    text = source.read_text()
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        destination = (source.parent / path).resolve() if path else source
        assert destination.exists(), f"{name}: {target}"
        assert destination.is_relative_to(REPO), f"{name}: {target}"
        if anchor:
            assert anchor in slugs(destination.read_text()), f"{name}: {target}"


def test_every_repository_path_the_pages_name_exists():
    """`tests/data/signing.json` and the like, named in backticks: each is a file of this repository."""
    named = set()
    for name in LINKED_FILES:
        named |= set(
            re.findall(
                r"`((?:tests|docs|fixtures|schemas|openapi|postman|examples|benchmarks)/[\w./-]+)`",
                (REPO / name).read_text(),
            )
        )
    assert "tests/data/signing.json" in named
    for path in named:
        assert (REPO / path).exists(), path


def test_each_page_starts_with_its_title_and_what_it_is_for():
    for page in PAGES[1:]:
        title, blank, intro = page_text(page).splitlines()[:3]
        assert title.startswith("# ") and blank == "" and len(intro.split()) >= 6, page


def test_the_readme_says_which_heavy_suites_a_plain_pytest_run_leaves_out():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    addopts = pyproject["tool"]["pytest"]["ini_options"]["addopts"]
    left_out = re.findall(r"not (\w+)", addopts)
    assert set(left_out) == {"docker", "load", "browser", "fuzz", "polyglot"}
    ci_selection = re.search(r'pytest -m "([^"]+)"', (REPO / ".ci" / "run").read_text())
    assert ci_selection is not None
    assert f'.venv/bin/python -m pytest -m "{ci_selection[1]}"' in README
    assert set(re.findall(r"\w+", ci_selection[1])) - {"or"} == set(left_out)


def marked_block(marker, page="README.md"):
    """(body, the block after it) of the one block of the page whose readme-test marker starts with this word."""
    items = blocks(page)
    [index] = [i for i, (_, _, m) in enumerate(items) if m and m.split()[0] == marker]
    return items[index][1], (items[index + 1] if index + 1 < len(items) else None)


@pytest.mark.timeout(120)
def test_the_walk_through_runs_against_the_sandbox_its_start_command_starts(tmp_path):
    """The README's start command (the installed console script, in the foreground, from any directory), then every
    shell example of the README in order against it from a second shell; its log shows the line the README quotes,
    and Ctrl-C stops it cleanly."""
    start, _ = marked_block("start")
    assert start.strip() == "betcore-sandbox"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["betcore-sandbox"] == "betcore_sandbox.cli:main"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        ["bash", "-c", f"exec {start.strip()}"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        health = f"http://127.0.0.1:{port}/__admin/health"
        for _ in range(200):  # poll until it answers (bounded: 200 x up to 0.05 s of waiting)
            assert server.poll() is None, server.communicate()[1].decode()
            try:
                with urllib.request.urlopen(health, timeout=1) as answer:
                    if json.loads(answer.read())["status"] == "healthy":
                        break
            except OSError:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.wait(0.05)
        else:
            raise AssertionError("the sandbox never answered its health check")
        examples = shell_examples("README.md")
        assert len(examples) >= 3
        for command, expected in examples:
            assert_prints(run_example(command, port, cwd=tmp_path), expected)
    finally:
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=15)
    assert server.returncode == 0
    quoted = re.search(r"The first terminal logged each call \(`([^`]+)`\)", README)
    assert quoted is not None and quoted[1] in log.decode()


@pytest.mark.timeout(240)
def test_the_install_command_installs_the_command_and_the_plugin_into_another_project(tmp_path):
    """`pip install /path/to/betcore-sandbox` into a project's own virtualenv, from a copy of the repository: the
    console script runs and the README's pytest example passes there. The runtime dependencies come from this test's
    environment (so nothing is downloaded but, if not cached, the build backend)."""
    install, _ = marked_block("install")
    git_form, _ = marked_block("install-git")
    assert re.fullmatch(r"pip install 'betcore-sandbox @ git\+https://<your-git-server>/\S+\.git'\n", git_form)
    copy = tmp_path / "betcore-sandbox"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    project = tmp_path / "my-game-server"
    project.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True, timeout=120)
    # The runtime dependencies, seen by the new venv but without this checkout's own (editable) install.
    deps = tmp_path / "deps"
    deps.mkdir()
    for item in Path(pytest.__file__).parents[1].iterdir():
        if not re.match(r"(betcore|__editable__|pip\b|pip-|_distutils_hack|distutils-precedence)|.*\.pth$", item.name):
            (deps / item.name).symlink_to(item)
    [site] = (project / ".venv" / "lib").glob("python3*/site-packages")
    (site / "dependencies.pth").write_text(f"{deps}\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BETCORE_SANDBOX_", "VIRTUAL_ENV", "PYTHON"))},
        "PATH": f"{project / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    command = install.strip().replace("/path/to/betcore-sandbox", str(copy))
    installed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command], env=env, cwd=project, capture_output=True, timeout=180
    )
    if installed.returncode and b"No matching distribution found for setuptools" in installed.stdout + installed.stderr:
        if os.environ.get("CI") == "true":  # CI has an index: there the install must be proven, not skipped
            pytest.fail(installed.stderr.decode())
        pytest.skip("no package index to fetch the build backend from")
    assert installed.returncode == 0, installed.stdout.decode() + installed.stderr.decode()
    signed = subprocess.run(
        ["betcore-sandbox", "sign", "GET", "/v1/sessions/session-eur/balance", "--timestamp", "1", "--request-id", "r"],
        env=env,
        cwd=project,
        capture_output=True,
        timeout=30,
    )
    assert signed.returncode == 0 and b"X-Sign: " in signed.stdout, signed.stderr.decode()
    where = subprocess.run(
        ["python", "-c", "import betcore_sandbox; print(betcore_sandbox.__file__)"],
        env=env,
        cwd=project,
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert Path(where.stdout.decode().strip()).is_relative_to(project / ".venv")
    [example] = python_examples("README.md")
    (project / "test_wallet.py").write_text(example)
    (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    ran = subprocess.run(["python", "-m", "pytest", "-q"], env=env, cwd=project, capture_output=True, timeout=120)
    assert ran.returncode == 0, ran.stdout.decode()
    assert b"1 passed" in ran.stdout


def test_the_async_example_needs_what_the_readme_says(pytester):
    """The README's note is needed: the async example passes with an asyncio plugin in auto mode (see
    test_python_examples_pass_under_the_plugin), and without `asyncio_mode = auto` it does not pass."""
    assert "pip install pytest-aiohttp" in README and 'asyncio_mode = "auto"' in README
    [source] = [body for body in python_examples("docs/pytest.md") if "async def test_" in body]
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_async_example=source)
    assert pytester.runpytest().parseoutcomes().get("passed", 0) == 0
