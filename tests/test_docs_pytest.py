"""The examples of docs/pytest.md that the plugin example test cannot run: a failing test and the report it gets,
a unittest.TestCase, a script; and the report switches it documents are the plugin's."""

import re
import subprocess
import sys

import pytest

from .conftest import REPO
from .test_readme import blocks

PAGE = "docs/pytest.md"
INI = (
    "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    "addopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
)
QUIET = ("Task was destroyed", "ResourceWarning", "Unclosed", "unclosed", "Exception ignored")


def marked(marker):
    """(body, the block that follows it) of each block of the page with this readme-test marker."""
    items = blocks(PAGE)
    found = [
        (body, items[i + 1] if i + 1 < len(items) else None) for i, (_, body, m) in enumerate(items) if m == marker
    ]
    assert found, f"no block marked {marker!r} in {PAGE}"
    return found


@pytest.mark.parametrize("index", range(len(marked("pytest-failing"))))
def test_each_failing_example_shows_the_report_the_page_shows(pytester, index):
    source, shown = marked("pytest-failing")[index]
    assert shown is not None and shown[0] == "text"
    pytester.makeini(INI)
    pytester.makepyfile(test_failing_example=source)
    result = pytester.runpytest()
    result.assert_outcomes(failed=source.count("def test_"))
    patterns = []
    for line in shown[1].strip().splitlines():
        if line.startswith("---"):  # pytest's section rule: its width follows the terminal's
            patterns.append("*" + line.strip("- ") + "*")
        else:
            line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:*", line)
            line = re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "* ", line)  # the time of day and the duration vary
            line = re.sub(r"provider\.py:\d+ ", "provider.py:* ", line)  # where the sandbox logged it moves with edits
            patterns.append(re.sub(r" \d+\.\dms ", " *ms ", line))
    result.stdout.fnmatch_lines(patterns, consecutive=True)


def test_the_report_switches_the_page_names_are_the_plugins(pytester):
    page = (REPO / PAGE).read_text()
    names = set(re.findall(r"--(?:no-)?betcore-sandbox-[\w-]+|betcore_sandbox_report\w*", page))
    assert {"--no-betcore-sandbox-report", "--betcore-sandbox-report-lines", "betcore_sandbox_report_lines"} <= names
    pytester.makeini(INI)
    help_text = pytester.runpytest("--help").stdout.str()
    for name in names:
        assert name in help_text, name


def test_the_unittest_example_passes_under_unittest(tmp_path):
    [(source, _)] = marked("unittest")
    (tmp_path / "test_wallet_example.py").write_text(source)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "unittest", "-v", "test_wallet_example"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"Ran {source.count('def test_')} tests" in result.stderr and "OK" in result.stderr, result.stderr
    for quiet in QUIET:
        assert quiet not in result.stderr, result.stderr


def test_the_script_example_prints_what_the_page_shows(tmp_path):
    [(source, shown)] = marked("script")
    assert shown is not None and shown[0] == "text"
    (tmp_path / "script.py").write_text(source)
    result = subprocess.run(
        [sys.executable, "-W", "error", "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown[1].strip()
    assert result.stderr == ""
