#!/usr/bin/env python3
"""Contract tests through the nginx edge, as a browser or curl sees majlis.

Usage: test_edge.py http://127.0.0.1:8080   (standard library only)
Prints one line per test and a closing "N passed, N failed, N skipped".

The tests marked `fault` need a second edge, rendered from the same template
by tests/edge/run.sh with strict limits, 2 s timeouts and upstreams that are
down: MAJLIS_EDGE_FAULT_URL is its address; auth and onboarding point at a
closed port, channels at MAJLIS_EDGE_SILENT_PORT, where the 504 test listens
without ever answering. Without them those tests are skipped.
"""
import http.client
import json
import os
import re
import socket
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"
FAULT = os.environ.get("MAJLIS_EDGE_FAULT_URL", "").rstrip("/")
SILENT_PORT = int(os.environ.get("MAJLIS_EDGE_SILENT_PORT", "0"))
ROOT = Path(__file__).resolve().parents[2]
TESTS = []


class Skip(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


def fault(fn):
    """A test against the fault edge; skipped when there is none."""

    def run():
        if not FAULT or not SILENT_PORT:
            raise Skip("no fault edge (MAJLIS_EDGE_FAULT_URL, MAJLIS_EDGE_SILENT_PORT)")
        fn()

    run.__name__ = fn.__name__
    return test(run)


def raw(data, base=None, source=None, timeout=15):
    """Sends bytes as they are (what urllib would refuse or fix) and reads the
    answer to the end: (status, lowercased headers, parsed body), or None when
    the edge closed the connection without answering."""
    url = urllib.parse.urlsplit(base or BASE)
    with socket.create_connection((url.hostname, url.port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    if not out:
        return None
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode(errors="replace")
    return status, hdrs, parsed


def request(method, path, base=None, source=None, body=None, timeout=15):
    """One request on its own connection (optionally from another loopback
    address, which the edge's per-address limits count separately)."""
    url = urllib.parse.urlsplit(base or BASE)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        payload = res.read()
        hdrs = {k.lower(): v for k, v in res.getheaders()}
    finally:
        conn.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload.decode(errors="replace")
    return res.status, hdrs, parsed


def assert_json_error(res, expected_status, code):
    """The edge's own errors: the contract's body, served as JSON."""
    assert res is not None, "the edge closed the connection without answering"
    status, hdrs, body = res
    assert_error(status, body, expected_status, code)
    assert hdrs["content-type"].startswith("application/json"), hdrs


def call(method, path, body=None, token=None, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            status, hdrs, payload = res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, e.headers, e.read()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload.decode(errors="replace")
    return status, hdrs, parsed


def assert_error(status, body, expected_status, code=None):
    assert status == expected_status, f"expected {expected_status}, got {status}: {body}"
    assert isinstance(body, dict) and set(body) == {"error"}, f"not a contract error body: {body}"
    assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str), body
    if code:
        assert body["error"]["code"] == code, f"expected code {code}: {body}"


def register():
    name = "e" + uuid.uuid4().hex[:12]
    status, _, body = call("POST", "/api/auth/register",
                           {"username": name, "email": f"{name}@example.org", "password": "edge-password-1"})
    assert status == 201, (status, body)
    return body["user"], body["token"], "edge-password-1"


@test
def register_login_me_logout_work_through_the_edge():
    user, _, password = register()
    status, _, body = call("POST", "/api/auth/login", {"login": user["username"], "password": password})
    assert status == 200, (status, body)
    token = body["token"]
    status, _, me = call("GET", "/api/users/me", token=token)
    assert status == 200 and me["id"] == user["id"], (status, me)
    status, _, body = call("POST", "/api/auth/logout", token=token)
    assert status == 204, (status, body)
    status, _, body = call("GET", "/api/users/me", token=token)
    assert_error(status, body, 401, "token_revoked")


@test
def bad_bodies_get_the_contract_errors():
    status, _, body = call("POST", "/api/auth/register", raw=b"{not json")
    assert_error(status, body, 400, "malformed_body")
    status, _, body = call("POST", "/api/auth/register", {"username": "ab", "email": "a@b.co", "password": "12345678"})
    assert_error(status, body, 422)
    assert "username" in body["error"]["message"]


@test
def a_body_over_one_mebibyte_is_a_json_413_from_the_edge():
    status, _, body = call("POST", "/api/auth/register", raw=b"x" * (1024 * 1024 + 10))
    assert_error(status, body, 413, "payload_too_large")


@test
def unknown_api_paths_are_a_json_404():
    status, _, body = call("GET", "/api/definitely-not-here")
    assert_error(status, body, 404)


@test
def repeated_failed_logins_are_429_with_retry_after():
    user, _, _ = register()
    for _ in range(5):
        status, _, _ = call("POST", "/api/auth/login", {"login": user["username"], "password": "wrong-password"})
        assert status == 401
    status, hdrs, body = call("POST", "/api/auth/login", {"login": user["username"], "password": "wrong-password"})
    assert_error(status, body, 429)
    assert int(hdrs["Retry-After"]) > 0


@test
def users_of_other_teams_are_404():
    a, token_a, _ = register()
    b, _, _ = register()
    status, _, body = call("GET", f"/api/users/{b['id']}", token=token_a)
    assert_error(status, body, 404)
    status, _, body = call("GET", f"/api/users/{a['id']}", token=token_a)
    assert status == 200 and body["id"] == a["id"]


@test
def the_callers_permissions_are_answered_by_channels_svc_not_auth_svc():
    _, token, _ = register()
    # A teamless user may do nothing: two empty lists (auth-svc has no such
    # route: a 404 would mean the edge sent it there).
    status, _, body = call("GET", "/api/users/me/permissions", token=token)
    assert status == 200 and body == {"team": [], "channel": []}, (status, body)
    status, _, body = call("GET", f"/api/users/me/permissions?channel_id={uuid.uuid4()}", token=token)
    assert_error(status, body, 404, "channel_not_found")
    # Its neighbours stay with auth-svc.
    status, _, me = call("GET", "/api/users/me", token=token)
    assert status == 200 and "username" in me, (status, me)
    status, _, doc = call("GET", "/api/docs/channels.json")
    assert "/api/users/me/permissions" in doc["paths"], sorted(doc["paths"])


@test
def every_service_publishes_its_openapi_document_through_the_edge():
    for svc in ["auth", "channels", "onboarding", "chat-gateway", "presence-gateway"]:
        status, _, doc = call("GET", f"/api/docs/{svc}.json")
        assert status == 200, (svc, status, doc)
        assert doc["openapi"].startswith("3."), (svc, doc.get("openapi"))
        assert "/healthz" in doc["paths"], svc
    status, _, doc = call("GET", "/api/docs/auth.json")
    for path in ["/api/auth/register", "/api/auth/login", "/api/auth/logout", "/api/users/me", "/api/users/{id}"]:
        assert path in doc["paths"], path


def spa_routes():
    """Every <Route path=...> of the SPA, parameters filled in."""
    app = (ROOT / "web/src/App.tsx").read_text()
    paths = re.findall(r'<Route\s+path="([^"]+)"', app)
    assert paths, "no <Route path=...> in web/src/App.tsx"
    return [re.sub(r":[A-Za-z]+", "x1", p) for p in paths if p != "*"]


@test
def every_route_of_the_spa_serves_the_app():
    for path in spa_routes() + ["/?next=x"]:
        req = urllib.request.Request(BASE + path)
        with urllib.request.urlopen(req, timeout=10) as res:
            assert res.status == 200, path
            assert "text/html" in res.headers["Content-Type"], (path, res.headers["Content-Type"])


@test
def paths_outside_every_route_are_a_json_404():
    for path in ["/nope/x", "/nope", "/api/nope", "/api", "/ws/nope", "/assets/missing.js",
                 "/login/extra/segments", "/_edge/404"]:
        assert_json_error(request("GET", path), 404, "not_found")


@test
def a_nul_in_the_path_is_a_json_400():
    for path in ["/%00", "/api/auth/%00", "/api/users/%00"]:
        res = raw(f"GET {path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
        assert_json_error(res, 400, "bad_request")


@test
def a_request_line_that_is_not_http_is_a_json_400():
    assert_json_error(raw(b"GARBAGE\r\n\r\n"), 400, "bad_request")
    assert_json_error(raw(b"GET / HTTP/1.1\r\nHost: edge\r\nno colon here\r\n\r\n"), 400, "bad_request")


@test
def a_wrong_method_on_the_spa_or_a_static_file_is_a_json_405_with_allow():
    for method, path in [("POST", "/"), ("POST", "/login"), ("PUT", "/index.html"), ("DELETE", "/c/x1")]:
        res = request(method, path, body=b"{}")
        assert_json_error(res, 405, "method_not_allowed")
        assert res[1]["allow"] == "GET, HEAD", (path, res[1])
    res = raw(b"TRACE /api/auth/login HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")
    assert_json_error(res, 405, "method_not_allowed")


@test
def a_wrong_method_on_a_service_route_is_its_json_405_with_allow():
    for method, path, allow in [("GET", "/api/auth/login", "POST"), ("DELETE", "/api/channels", "GET, POST"),
                                ("PUT", "/api/users/me", "GET"), ("POST", "/api/onboarding", "GET")]:
        res = request(method, path, body=b"{}")
        assert_json_error(res, 405, "method_not_allowed")
        assert res[1]["allow"] == allow, (method, path, res[1])


@test
def a_uri_over_8_kib_is_a_json_414():
    res = raw(f"GET /api/users/{'a' * 9000} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
    assert_json_error(res, 414, "uri_too_long")


@test
def a_header_over_8_kib_is_a_json_431():
    res = raw(f"GET / HTTP/1.1\r\nHost: edge\r\nCookie: {'a' * 9000}\r\nConnection: close\r\n\r\n".encode())
    assert_json_error(res, 431, "headers_too_large")


@test
def an_unsatisfiable_range_is_a_json_416():
    res = raw(b"GET /index.html HTTP/1.1\r\nHost: edge\r\nRange: bytes=99999999-\r\nConnection: close\r\n\r\n")
    assert_json_error(res, 416, "range_not_satisfiable")


@test
def an_unknown_transfer_encoding_is_a_json_501():
    res = raw(b"POST /api/auth/login HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: gzip\r\n"
              b"Connection: close\r\n\r\nx")
    assert_json_error(res, 501, "not_implemented")


@test
def an_http_version_other_than_1_x_is_a_json_505():
    res = raw(b"GET / HTTP/2.0\r\nHost: edge\r\nConnection: close\r\n\r\n")
    assert_json_error(res, 505, "http_version_not_supported")


@fault
def a_service_that_is_down_is_a_json_502_with_retry_after():
    res = request("GET", "/api/onboarding", base=FAULT)
    assert_json_error(res, 502, "bad_gateway")
    assert int(res[1]["retry-after"]) > 0


@fault
def a_service_that_does_not_answer_is_a_json_504():
    # Accepted by the kernel, never read: the edge gives up after its 2 s.
    with socket.create_server(("127.0.0.1", SILENT_PORT)):
        res = request("GET", "/api/channels", base=FAULT)
    assert_json_error(res, 504, "gateway_timeout")


@fault
def auth_requests_over_the_address_rate_are_a_json_429_with_retry_after():
    # The fault edge allows 1 r/m with a burst of 2 per address; auth-svc is
    # down there, so the ones let through are 502s.
    seen = []
    for _ in range(6):
        res = request("POST", "/api/auth/login", base=FAULT, source="127.0.0.3", body=b"{}")
        seen.append(res[0])
        if res[0] == 429:
            assert_json_error(res, 429, "rate_limited")
            assert res[1]["retry-after"] == "60", res[1]
            break
    assert seen == [502, 502, 502, 429], seen


@fault
def auth_requests_over_the_address_concurrency_are_a_json_429():
    # One request whose body never completes holds the only slot (the fault
    # edge allows 1 in flight per address) until the edge's 2 s body timeout.
    url = urllib.parse.urlsplit(FAULT)
    with socket.create_connection((url.hostname, url.port), timeout=10,
                                  source_address=("127.0.0.2", 0)) as held:
        held.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: edge\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.3)
        res = request("POST", "/api/auth/login", base=FAULT, source="127.0.0.2", body=b"{}")
        assert_json_error(res, 429, "rate_limited")
        assert held.recv(1) == b"", "the stalled request got an answer"


@fault
def a_client_that_stalls_is_cut_off_without_an_answer():
    # nginx answers a slow client (408) by closing the connection: there is
    # no body to make JSON, and no HTML either.
    started = time.monotonic()
    assert raw(b"GET / HTTP/1.1\r\nHost: edge\r\n", base=FAULT, timeout=10) is None
    assert raw(b"POST /api/channels HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\n\r\n{",
               base=FAULT, timeout=10) is None
    assert time.monotonic() - started < 9


def main():
    passed = failed = skipped = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}")
        except Skip as e:
            skipped += 1
            print(f"skip {fn.__name__}: {e}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
