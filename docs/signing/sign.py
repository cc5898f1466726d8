"""Sign BETCORE wallet requests in Python (standard library only).

python3 sign.py vectors signing.json                          # check the known-answer vectors
python3 sign.py balance http://127.0.0.1:8080 session-eur     # a signed GET
python3 sign.py pay-in http://127.0.0.1:8080 session-eur bet-1 2.50
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

COUNTERPARTY_ID = "933a215f-a9e6-4f88-9d91-52a87cd50499"  # yours; these two are the sandbox's demo provider
SECRET = "sandbox-secret-key-123"


def sign(method, body, counterparty_id, secret, timestamp, request_id):
    """The four headers for one request. body: the exact bytes you send (ignored for GET)."""
    message = f"{counterparty_id}.{timestamp}.{request_id}".encode()
    if method != "GET":
        message = body + b"." + message
    return {
        "X-Counterparty-Id": counterparty_id,
        "X-Timestamp": timestamp,
        "X-Request-Id": request_id,
        "X-Sign": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }


def send(base_url, method, path, body=b""):
    """Send one signed request: a fresh timestamp (ms) and request id for every attempt."""
    headers = sign(method, body, COUNTERPARTY_ID, SECRET, str(time.time_ns() // 1_000_000), uuid.uuid4().hex)
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base_url + path, body if method != "GET" else None, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # a 4xx/5xx still carries the JSON answer
        return error.read().decode()


def pay_in(base_url, session_id, bet_id, amount):
    body = json.dumps({"betId": bet_id, "betAmount": amount, "gameRoundId": "round-" + bet_id, "sessionId": session_id})
    return send(base_url, "POST", f"/v1/sessions/{session_id}/bets/pay-in", body.encode())


def check_vectors(path):
    with open(path, encoding="utf-8") as file:
        cases = json.load(file)["cases"]
    failed = 0
    for case in cases:
        body = (case["body"] or "").encode()
        got = sign(case["method"], body, case["counterpartyId"], case["secret"], case["timestamp"], case["requestId"])
        if got["X-Sign"] == case["xSign"]:
            print("ok", case["name"])
        else:
            failed += 1
            print("FAIL", case["name"], got["X-Sign"], "!=", case["xSign"])
    return 1 if failed else 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "vectors":
        sys.exit(check_vectors(*args))
    elif command == "balance":
        print(send(args[0], "GET", f"/v1/sessions/{args[1]}/balance"))
    elif command == "pay-in":
        print(pay_in(*args))
    else:
        sys.exit(__doc__)
