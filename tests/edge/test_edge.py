#!/usr/bin/env python3
"""Contract tests through the nginx edge, as a browser or curl sees majlis.

Usage: test_edge.py http://127.0.0.1:8080   (standard library only)
Prints one line per test and a closing "N passed, N failed".
"""
import json
import sys
import traceback
import urllib.error
import urllib.request
import uuid

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


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
def every_service_publishes_its_openapi_document_through_the_edge():
    for svc in ["auth", "channels", "onboarding", "chat-gateway", "presence-gateway"]:
        status, _, doc = call("GET", f"/api/docs/{svc}.json")
        assert status == 200, (svc, status, doc)
        assert doc["openapi"].startswith("3."), (svc, doc.get("openapi"))
        assert "/healthz" in doc["paths"], svc
    status, _, doc = call("GET", "/api/docs/auth.json")
    for path in ["/api/auth/register", "/api/auth/login", "/api/auth/logout", "/api/users/me", "/api/users/{id}"]:
        assert path in doc["paths"], path


@test
def the_spa_is_served_at_the_root_and_for_client_routes():
    for path in ["/", "/channels/town-square"]:
        req = urllib.request.Request(BASE + path)
        with urllib.request.urlopen(req, timeout=10) as res:
            assert res.status == 200
            assert "text/html" in res.headers["Content-Type"]


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
