import pytest

from betcore_sandbox.signing import (
    compute_sign,
    explain_mismatch,
    signed_headers,
    signs_match,
    string_to_sign,
)

from .conftest import SHARED_VECTORS, VECTORS_COPY, vectors

VECTORS = vectors()


def test_the_vectors_copy_matches_the_shared_contract():
    if SHARED_VECTORS.exists():
        assert VECTORS_COPY.read_bytes() == SHARED_VECTORS.read_bytes()
    assert len(VECTORS) >= 7


@pytest.mark.parametrize("case", VECTORS, ids=lambda c: c["name"])
def test_known_answer_vectors(case):
    body = (case["body"] or "").encode()
    message = string_to_sign(case["method"], body, case["counterpartyId"], case["timestamp"], case["requestId"])
    assert message == case["stringToSign"].encode()
    assert compute_sign(case["secret"], message) == case["xSign"]
    headers = signed_headers(
        case["secret"],
        case["counterpartyId"],
        case["method"],
        body,
        timestamp_ms=int(case["timestamp"]),
        request_id=case["requestId"],
    )
    assert headers["X-Sign"] == case["xSign"]


def test_compare_accepts_upper_case_and_rejects_anything_else():
    sign = VECTORS[0]["xSign"]
    assert signs_match(sign, sign)
    assert signs_match(sign, sign.upper())
    assert not signs_match(sign, sign[:-1] + ("0" if sign[-1] != "0" else "1"))
    assert not signs_match(sign, "")
    assert not signs_match(sign, "ß" * 64)


def _explain(case, received, **kw):
    body = (case["body"] or "").encode()
    return explain_mismatch(
        method=case["method"],
        body=body,
        counterparty_id=case["counterpartyId"],
        timestamp=case["timestamp"],
        request_id=case["requestId"],
        secret=case["secret"],
        received=received,
        **kw,
    )


def _case(name):
    return next(c for c in VECTORS if c["name"] == name)


def test_diagnostics_show_what_was_signed_but_never_the_secret():
    case = _case("pay-in-compact")
    debug = _explain(case, "0" * 64)
    assert debug["stringToSign"] == case["stringToSign"]
    assert debug["expectedSign"] == case["xSign"]
    assert debug["receivedSign"] == "0" * 64
    assert debug["hints"]
    assert case["secret"] not in repr(debug)


def test_hint_for_a_reserialised_body():
    case = _case("pay-in-spaced")
    compact = _case("pay-in-compact")
    # The client signed the compact form but sent the spaced bytes.
    debug = _explain(case, compact["xSign"])
    assert "re-serialised" in debug["hints"][0]


def test_hint_for_php_slashes_dropped_before_signing():
    case = _case("refund-php-slashes")
    unescaped = case["body"].replace("\\/", "/").encode()
    wrong = compute_sign(
        case["secret"], string_to_sign("POST", unescaped, case["counterpartyId"], case["timestamp"], case["requestId"])
    )
    assert "re-serialised" in _explain(case, wrong)["hints"][0]


def _signed_over(case, body: bytes) -> str:
    message = string_to_sign("POST", body, case["counterpartyId"], case["timestamp"], case["requestId"])
    return compute_sign(case["secret"], message)


@pytest.mark.parametrize("name", ["pay-in-compact", "refund-php-slashes"])
def test_hint_for_a_newline_sent_but_not_signed(name):
    case = _case(name)
    # The client signed the body, then sent it with a newline (a file ending in one, a writer adding it).
    sent = {**case, "body": case["body"] + "\n"}
    hint = _explain(sent, case["xSign"])["hints"][0]
    assert "trailing whitespace or a newline" in hint and "re-serialised" not in hint


def test_hint_for_a_newline_signed_but_not_sent():
    case = _case("refund-php-slashes")
    wrong = _signed_over(case, case["body"].encode() + b"\n")
    assert "ended with a newline" in _explain(case, wrong)["hints"][0]


def test_hint_for_a_base64_decoded_secret():
    import base64

    case = _case("base64-looking-secret")
    wrong = compute_sign(base64.b64decode(case["secret"]), case["stringToSign"].encode())
    assert "base64-decoded" in _explain(case, wrong)["hints"][0]


def test_hint_for_seconds_in_the_string_to_sign():
    case = _case("balance-get")
    message = f"{case['counterpartyId']}.{case['timestamp'][:-3]}.{case['requestId']}".encode()
    assert "seconds" in _explain(case, compute_sign(case["secret"], message))["hints"][0]


def test_hint_for_a_leading_dot_on_get():
    case = _case("balance-get")
    wrong = compute_sign(case["secret"], b"." + case["stringToSign"].encode())
    assert "leading '.'" in _explain(case, wrong)["hints"][0]


def test_hint_for_another_counterpartys_secret():
    case = _case("pay-in-compact")
    wrong = compute_sign("the-other-secret", case["stringToSign"].encode())
    hints = _explain(case, wrong, other_secrets={"acme": "the-other-secret", case["counterpartyId"]: case["secret"]})
    assert "counterparty 'acme'" in hints["hints"][0]
    assert "the-other-secret" not in repr(hints)


def test_hint_for_base64_encoded_signature():
    import base64

    case = _case("pay-in-compact")
    wrong = base64.b64encode(bytes.fromhex(case["xSign"])).decode()
    assert "base64-encoded" in _explain(case, wrong)["hints"][0]


def test_checklist_when_no_single_mistake_explains_it():
    case = _case("base64-looking-secret")
    hints = _explain(case, "abc")["hints"]
    assert any("64 hex characters" in h for h in hints)
    assert any("do not decode it" in h for h in hints)
    assert any("raw body bytes" in h for h in hints)
