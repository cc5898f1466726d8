"""The conformance report (its JSON view, see `report`) as JUnit XML for CI systems and as one self-contained HTML
page for people.

JUnit: one testsuite of every check (one testcase each) and one testsuite per applied scenario with its expected
checks. A `fail` is a <failure> with the evidence; a `warn` passes, its findings in <system-out>; a
`not_applicable` is <skipped>. HTML: no scripts, no external resources; failed checks first, then per bet a
timeline of its attempts, answers and faults, bets with findings first.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

FORMATS = ("json", "junit", "html")
CONTENT_TYPES = {"json": "application/json", "junit": "application/xml", "html": "text/html"}
SUITE = "betcore-sandbox conformance"


# Characters XML 1.0 forbids (C0 controls but tab and newlines, lone surrogates, U+FFFE/U+FFFF) and the ones a
# reader cannot see (DEL, C1 controls): a betId or body may carry them, escaped in JSON; shown as \xNN / \uNNNN.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> Any:
    """The same JSON-like value with every invisible or XML-forbidden character in its strings escaped."""
    if isinstance(value, str):
        return _INVISIBLE.sub(_escaped, value)
    if isinstance(value, Mapping):
        return {visible(key): visible(item) for key, item in value.items()}
    if isinstance(value, list):
        return [visible(item) for item in value]
    return value


def render(report: Mapping[str, Any], form: str) -> bytes:
    """The report as `junit` or `html` (JSON is the report itself)."""
    if form == "junit":
        return junit(report)
    if form == "html":
        return page(report)
    raise ValueError(f"no report format {form!r}")


def evidence_text(check: Mapping[str, Any]) -> str:
    """A check's evidence as plain text lines (for JUnit, the CLI and assertion messages)."""
    lines = []
    for e in check["evidence"]:
        where = f"bet {e['betId']}: " if e.get("betId") is not None else ""
        entries = f" [journal entries {', '.join(map(str, e['entries']))}]" if e.get("entries") else ""
        lines.append(f"{where}{e['message']}{entries}")
        lines += [f"    {name}: {value}" for name, value in (e.get("details") or {}).items()]
    return "\n".join(lines)


def junit(report: Mapping[str, Any]) -> bytes:
    report = visible(report)
    suites = ET.Element("testsuites", name=SUITE)
    _suite(suites, "checks", "betcore_sandbox.checks", report["checks"])
    for scenario in report["scenarios"]:
        _suite(
            suites, f"scenario {scenario['name']}", f"betcore_sandbox.scenarios.{scenario['name']}", scenario["checks"]
        )
    for name in ("tests", "failures", "errors"):  # the schema CI servers use has no `skipped` up here
        suites.set(name, str(sum(int(s.get(name, "0")) for s in suites)))
    suites.set("time", "0")
    ET.indent(suites)
    rendered: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return rendered + b"\n"


def _suite(parent: ET.Element, name: str, classname: str, checks: list[Mapping[str, Any]]) -> None:
    suite = ET.SubElement(parent, "testsuite", name=name)
    failures = skipped = 0
    for check in checks:
        case = ET.SubElement(suite, "testcase", name=check["id"], classname=classname, time="0")
        text = evidence_text(check)
        if check["status"] == "fail":
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{check['rule']}: {check['summary']}", type="fail")
            failure.text = text
        elif check["status"] == "not_applicable":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"not applicable: {check['summary']}")
        elif check["status"] == "warn":
            ET.SubElement(case, "system-out").text = f"WARNING {check['rule']}: {check['summary']}\n{text}"
    suite.set("tests", str(len(checks)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", "0")


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1 .verdict{padding:.1em .5em;border-radius:.3em;color:#fff}
.fail{background:#c62828}.warn{background:#ef8f00}.pass{background:#2e7d32}.not_applicable{background:#888}
.badge{display:inline-block;min-width:7em;text-align:center;color:#fff;border-radius:.3em;padding:0 .4em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}
th{background:#f2f2f2;text-align:left}code,pre{font:12px ui-monospace,monospace;white-space:pre-wrap;margin:0}
section{margin-bottom:2em}.evidence{margin:.3em 0 .8em 1.5em}tr.indefinite td{background:#fff3e0}
"""


def page(report: Mapping[str, Any]) -> bytes:
    report = visible(report)
    e = html.escape
    verdict, word = ("pass", "passed") if report["passed"] else ("fail", "failed")
    s = report["summary"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{SUITE}: {word}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1>Conformance report <span class="verdict {verdict}">{word}</span></h1>',
        f"<p>{s['fail']} failed, {s['warn']} warnings, {s['pass']} passed, {s['notApplicable']} not applicable; "
        f"{s['requests']} requests, {s['bets']} bets; generated {e(str(s['generatedAt']))}"
        + ("" if s.get("sandboxTime") is None else f" (sandbox clock {e(str(s['sandboxTime']))})")
        + ".</p>",
    ]
    if s["journalDropped"]:
        parts.append(
            f"<p><strong>{s['journalDropped']} journal entries were pushed out by the journal limits: the evidence "
            "is incomplete.</strong></p>"
        )
    if s.get("unknownPaths"):
        parts.append(
            f"<p>{s['unknownPaths']} requests went to a path that is no endpoint (a wrong base path or method): not "
            "judged; the journal lists them with endpoint <code>unknown</code>.</p>"
        )
    parts.append('<section id="checks"><h2>Checks</h2>')
    parts += [_check(check, "h3") for check in report["checks"]]
    parts.append("</section>")
    if report["scenarios"]:
        parts.append('<section id="scenarios"><h2>Scenarios</h2>')
        for sc in report["scenarios"]:
            parts.append(
                f'<h3><span class="badge {e(sc["status"])}">{e(sc["status"])}</span> {e(sc["name"])}</h3>'
                f"<p>{e(sc['description'])}. Faults {e(', '.join(sc['faultIds']))} fired {sc['fired']} time(s) on "
                f"bets {e(', '.join(sc['betIds']) or 'none')}.</p>"
            )
            parts += [_check(check, "h4") for check in sc["checks"]]
        parts.append("</section>")
    parts.append('<section id="bets"><h2>Bets</h2>')
    parts += [_bet(bet) for bet in report["bets"]]
    parts.append("</section></body></html>")
    return "\n".join(parts).encode()


def _check(check: Mapping[str, Any], heading: str) -> str:
    e = html.escape
    status = check["status"]
    out = [
        f'<{heading} class="check" id="check-{e(check["id"])}"><span class="badge {e(status)}">{e(status)}</span> '
        f"{e(check['id'])}</{heading}>",
        f"<p>{e(check['rule'])}: {e(check['summary'])}</p>",
    ]
    if check["evidence"]:
        out.append('<ul class="evidence">')
        for item in check["evidence"]:
            bet = f"<strong>bet {e(str(item['betId']))}</strong>: " if item.get("betId") is not None else ""
            entries = ", ".join(map(str, item.get("entries") or ()))
            details = "".join(
                f"<pre>{e(name)}: {e(str(value))}</pre>" for name, value in (item.get("details") or {}).items()
            )
            out.append(f"<li>{bet}{e(item['message'])} <small>(entries {e(entries)})</small>{details}</li>")
        out.append("</ul>")
    return "\n".join(out)


def _sandbox_time(attempt: Mapping[str, Any]) -> str:
    moment = attempt.get("sandboxTime")
    return "" if moment is None else f"<br><small>sandbox clock {html.escape(str(moment))}</small>"


def _bet(bet: Mapping[str, Any]) -> str:
    e = html.escape
    findings = ", ".join(bet["findings"])
    rows = []
    for a in bet["attempts"]:
        fault = a["fault"]
        rows.append(
            f'<tr class="{e(a["answer"])}"><td>{a["entry"]}</td><td>{e(str(a["time"]))}{_sandbox_time(a)}</td>'
            f"<td>{e(a['endpoint'])}</td>"
            f"<td><code>{e(str(a['requestId']))}</code></td><td><code>{e(a['body'])}</code></td>"
            f"<td>{'' if a['status'] is None else a['status']}</td>"
            f"<td>{'' if a['responseCode'] is None else a['responseCode']}</td><td>{e(a['answer'])}</td>"
            f"<td>{e(json.dumps(fault)) if fault else ''}</td></tr>"
        )
    return (
        f'<h3 class="bet" id="bet-{e(bet["betId"])}">{e(bet["betId"])}'
        + (f' <span class="badge fail">{e(findings)}</span>' if findings else "")
        + "</h3><table><tr><th>entry</th><th>time</th><th>endpoint</th><th>X-Request-Id</th><th>body</th>"
        "<th>HTTP</th><th>code</th><th>answer</th><th>fault</th></tr>" + "".join(rows) + "</table>"
    )


__all__ = ["CONTENT_TYPES", "FORMATS", "evidence_text", "junit", "page", "render", "visible"]
