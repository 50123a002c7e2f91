"""Each check's failing cases against servers that answer wrong on purpose (a tiny
stdlib HTTP server in the test), TLS against a loopback TLS server with a
throw-away certificate, and the DNS and Route 53 interpretation."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local_api.server import LocalApi
from tests.verify.conftest import EAST, WEST
from tests.verify.support import (
    failures,
    json_answer,
    run_verify,
    scripted_server,
    statuses,
)
from verify.checks import check_route53, route53_verdict
from verify.dns import attribute, check_dns
from verify.inputs import Target
from verify.run import Options, Run
from verify.tls import _is_default_execute_api

Answer = tuple[int, dict[str, str], bytes]


def error(status: int, code: str, **headers: str) -> Answer:
    return json_answer(status, {"error": {"code": code, "message": "m"}}, **headers)


def contract_script(**wrong: Answer) -> Callable[[str, str], Answer]:
    """The documented answers to verify's five error cases, except those in `wrong`
    (keyed "e404", "e405", ...). The server cannot tell the two POSTs apart by
    path, so it answers the first 413 and the second 415, in verify's order."""
    posts: list[str] = []

    def script(method: str, path: str) -> Answer:
        if path.startswith("/verify-no-such-route"):
            case = "e404"
            right = error(404, "not_found")
        elif method == "DELETE" and path == "/health":
            case, right = "e405", error(405, "method_not_allowed", Allow="GET")
        elif path.startswith("/getEpoch?limit=0"):
            case, right = "e400", error(400, "invalid_parameter")
        elif method == "POST":
            posts.append(path)
            if len(posts) % 2:
                case, right = "e413", error(413, "too_large")
            else:
                case, right = "e415", error(415, "unsupported_media_type")
        else:
            return json_answer(200, {})
        return wrong.get(case, right)

    return script


def errors_run(capsys: pytest.CaptureFixture[str], port: int) -> tuple[int, dict[str, Any]]:
    return run_verify(
        capsys, "--region-endpoint", f"{EAST}=http://127.0.0.1:{port}", "--checks", "errors"
    )


def test_the_documented_error_contract_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """The scripted server passes when it answers right, so the failures below come
    from the wrong answers, not from the harness."""
    with scripted_server(contract_script()) as port:
        code, document = errors_run(capsys, port)
    assert code == 0, failures(document)


def test_errors_in_the_wrong_shape_fail(capsys: pytest.CaptureFixture[str]) -> None:
    script = contract_script(
        e404=json_answer(404, {"message": "Not Found"}),  # API Gateway's default shape
        e400=(400, {"Content-Type": "text/html"}, b"<h1>Bad Request</h1>"),
        e413=json_answer(413, {"error": {"code": "too_large"}}),
        e415=error(400, "bad_request"),
    )
    with scripted_server(script) as port:
        code, document = errors_run(capsys, port)
    assert code == 1
    ((check, scope, detail),) = failures(document)
    assert (check, scope) == ("errors", EAST)
    assert "404: body is not" in detail
    assert "400: Content-Type text/html" in detail
    assert "413: error has fields ['code'], not code and message" in detail
    assert "415: answered 400" in detail
    assert "405" not in detail  # that one was right


def test_a_405_without_allow_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with scripted_server(contract_script(e405=error(405, "method_not_allowed"))) as port:
        code, document = errors_run(capsys, port)
    assert code == 1
    assert failures(document) == [("errors", EAST, "405: no Allow header")]


def test_a_wrong_error_code_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with scripted_server(contract_script(e400=error(400, "oops"))) as port:
        code, document = errors_run(capsys, port)
    assert code == 1
    assert failures(document) == [("errors", EAST, "400: code 'oops', not 'invalid_parameter'")]


def page_script(pages: list[list[tuple[int, str]]]) -> Callable[..., Any]:
    """GET /getEpoch answers the given pages (epoch_ms, id) with cursors p1, p2..."""

    def script(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        index = int(path.rsplit("cursor=p", 1)[1]) if "cursor=p" in path else 0
        items = [
            {"id": i, "epoch": ms // 1000, "epoch_ms": ms, "region": EAST} for ms, i in pages[index]
        ]
        next_cursor = f"p{index + 1}" if index + 1 < len(pages) else None
        return json_answer(200, {"now": 1, "region": EAST, "items": items, "next": next_cursor})

    return script


A, B, C = "a" * 32, "b" * 32, "c" * 32


@pytest.mark.parametrize(
    ("pages", "problem"),
    [
        ([[(3000, A), (2000, B)], [(2000, B)]], "repeated"),
        ([[(2000, A), (3000, B)]], "not older"),
        ([[(3000, A)], [(1000, B), (1000, C)]], "not older"),  # same ms: id descending
    ],
    ids=["repeat-across-pages", "oldest-first", "tie-in-wrong-order"],
)
def test_a_list_out_of_order_or_with_repeats_fails(
    pages: list[list[tuple[int, str]]], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_server(page_script(pages)) as port:
        code, document = run_verify(
            capsys, "--region-endpoint", f"{EAST}=http://127.0.0.1:{port}", "--checks", "list"
        )
    assert code == 1
    ((check, scope, detail),) = failures(document)
    assert (check, scope) == ("list", EAST)
    assert problem in detail


def test_a_well_ordered_walk_passes(capsys: pytest.CaptureFixture[str]) -> None:
    pages = [[(3000, A), (2000, C)], [(2000, B), (1000, A[:-1] + "f")]]
    with scripted_server(page_script(pages)) as port:
        code, document = run_verify(
            capsys, "--region-endpoint", f"{EAST}=http://127.0.0.1:{port}", "--checks", "list"
        )
    assert code == 0, failures(document)
    assert document["checks"][0]["figures"] == {"pages": 2, "items": 4}


def test_a_repeat_that_registers_again_fails_idempotency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server that answers every POST 201 with a new registration (no idempotency)."""
    stored: dict[str, dict[str, Any]] = {}

    def script(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if method == "POST":
            new_id = uuid.uuid4().hex
            item: dict[str, Any] = {"id": new_id, "epoch": 1, "epoch_ms": 1000, "region": EAST}
            stored[new_id] = item
            return json_answer(201, item)
        item_id = path.rsplit("/", 1)[-1]
        if item_id in stored:
            return json_answer(200, stored[item_id])
        return json_answer(404, {"error": {"code": "not_found", "message": "no"}})

    with scripted_server(script) as port:
        code, document = run_verify(
            capsys,
            "--region-endpoint",
            f"{EAST}=http://127.0.0.1:{port}",
            "--checks",
            "idempotency",
        )
    assert code == 1
    assert failures(document) == [
        ("idempotency", f"{EAST} then {EAST}", "repeat answered 201, not 200")
    ]


def test_health_from_a_server_that_is_not_the_api_fails(
    capsys: pytest.CaptureFixture[str], two_regions: dict[str, LocalApi]
) -> None:
    """A wrong endpoint that answers HTTP: 404 HTML for everything."""
    with scripted_server(lambda _m, _p: (404, {"Content-Type": "text/html"}, b"nope")) as port:
        code, document = run_verify(
            capsys,
            "--region-endpoint",
            f"{EAST}={two_regions[EAST].url}",
            "--region-endpoint",
            f"{WEST}=http://127.0.0.1:{port}",
            "--checks",
            "health",
        )
    assert code == 1
    assert statuses(document, "health") == {EAST: "pass", WEST: "fail"}


# --- TLS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for `localhost` only (not 127.0.0.1)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
            *("-out", str(cert), "-subj", "/CN=localhost", "-days", "2"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def tls_wrapper(certificate: tuple[Path, Path], *, legacy: bool) -> Callable[[Any], Any]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2

    def wrap(sock: socket.socket) -> Any:
        return context.wrap_socket(sock, server_side=True)

    return wrap


def ok(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
    return json_answer(200, {"status": "ok", "region": EAST})


def tls_run(capsys: pytest.CaptureFixture[str], url: str, cert: Path) -> tuple[int, dict[str, Any]]:
    return run_verify(
        capsys,
        "--region-endpoint",
        f"{EAST}={url}",
        "--checks",
        "tls",
        "--ca-file",
        str(cert),
        "--timeout",
        "3",
    )


def test_tls_passes_with_a_valid_certificate_and_tls_1_2_only(
    certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_server(ok, tls_wrapper(certificate, legacy=False)) as port:
        code, document = tls_run(capsys, f"https://localhost:{port}", certificate[0])
    assert code == 0, failures(document)
    scope = f"localhost:{port}"
    assert statuses(document, "tls-certificate") == {scope: "pass"}
    assert statuses(document, "tls-legacy") == {scope: "pass"}


def test_a_certificate_for_another_host_fails(
    certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_server(ok, tls_wrapper(certificate, legacy=False)) as port:
        code, document = tls_run(capsys, f"https://127.0.0.1:{port}", certificate[0])
    assert code == 1
    ((check, _scope, detail),) = failures(document)
    assert check == "tls-certificate"
    assert "certificate not valid" in detail


def test_an_untrusted_certificate_fails(
    certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_server(ok, tls_wrapper(certificate, legacy=False)) as port:
        code, document = run_verify(
            capsys, "--region-endpoint", f"{EAST}=https://localhost:{port}", "--checks", "tls"
        )
    assert code == 1
    assert ("tls-certificate", f"localhost:{port}") in [(c, s) for c, s, _d in failures(document)]


def test_a_server_accepting_tls_1_1_fails(
    certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_server(ok, tls_wrapper(certificate, legacy=True)) as port:
        code, document = tls_run(capsys, f"https://localhost:{port}", certificate[0])
    assert code == 1
    assert failures(document) == [("tls-legacy", f"localhost:{port}", "accepted TLSv1.1")]


# --- DNS -------------------------------------------------------------------------


def dns_run(api_url: str, **options: Any) -> Run:
    target = Target(
        api_url=api_url,
        endpoints={EAST: "https://e.example", WEST: "https://w.example"},
    )
    return Run(target, Options(dns_lookups=4, **options))


def rotating(answers: list[tuple[str, list[str], list[str]]]) -> Callable[[str], Any]:
    calls = iter(answers * 10)
    return lambda _host: next(calls)


def cname(region: str) -> tuple[str, list[str], list[str]]:
    return (f"d-abc.execute-api.{region}.amazonaws.com", ["api.example.com"], ["192.0.2.1"])


def test_dns_answers_in_rotation_pass() -> None:
    run = dns_run("https://api.example.com")
    resolve = rotating([cname(EAST), cname(WEST)])
    (result,) = check_dns(run, resolve, pause=0)
    assert result.status == "pass"
    assert result.figures["regions_seen"] == {EAST: 2, WEST: 2}


def test_dns_answer_outside_the_regions_fails() -> None:
    run = dns_run("https://api.example.com")
    resolve = rotating([cname(EAST), ("elsewhere.example.net", [], ["198.51.100.7"])])
    (result,) = check_dns(run, resolve, pause=0)
    assert result.status == "fail"
    assert "198.51.100.7 is no regional target" in result.detail


def test_dns_that_does_not_resolve_fails() -> None:
    def nxdomain(_host: str) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    (result,) = check_dns(dns_run("https://api.example.com"), nxdomain, pause=0)
    assert result.status == "fail"
    assert "does not resolve" in result.detail


def test_dns_missing_region_fails_only_when_required() -> None:
    resolve = rotating([cname(EAST)])
    (lenient,) = check_dns(dns_run("https://api.example.com"), resolve, pause=0)
    assert lenient.status == "pass"
    assert WEST in lenient.detail
    (strict,) = check_dns(
        dns_run("https://api.example.com", dns_require_all=True), resolve, pause=0
    )
    assert strict.status == "fail"
    assert f"never answered {WEST}" == strict.detail


def test_dns_alias_answers_are_attributed_by_target_addresses() -> None:
    resolve = rotating(
        [("api.example.com", [], ["192.0.2.10"]), ("api.example.com", [], ["192.0.2.20"])]
    )
    targets = {EAST: {"192.0.2.10"}, WEST: {"192.0.2.20"}}
    (result,) = check_dns(dns_run("https://api.example.com"), resolve, targets, pause=0)
    assert result.status == "pass"
    assert result.figures["regions_seen"] == {EAST: 2, WEST: 2}


def test_dns_is_skipped_for_loopback_and_ip_urls() -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost:8080", "https://[::1]:8443"):
        (result,) = check_dns(dns_run(url), rotating([cname(EAST)]), pause=0)
        assert result.status == "skip"


def test_attribute_matches_whole_labels_only() -> None:
    assert attribute(["d-1.execute-api.us-west-2.amazonaws.com"], [EAST, WEST]) == WEST
    assert attribute(["us-west-2-lookalike.example.com"], [EAST, WEST]) is None


# --- Route 53 ----------------------------------------------------------------------


def test_route53_is_skipped_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    target = Target(
        api_url=None, endpoints={EAST: "https://e.example"}, health_check_ids={EAST: "x"}
    )
    (result,) = check_route53(Run(target, Options()), boto3.Session())
    assert result.status == "skip"
    assert "no AWS credentials" in result.detail
    (no_ids,) = check_route53(Run(Target(api_url=None, endpoints={EAST: "https://e"}), Options()))
    assert no_ids.status == "skip"


def test_route53_verdict_follows_the_18_percent_rule() -> None:
    def observations(healthy: int, total: int) -> list[dict[str, Any]]:
        return [
            {
                "StatusReport": {
                    "Status": "Success: HTTP Status Code 200, OK"
                    if i < healthy
                    else "Failure: HTTP Status Code 503"
                }
            }
            for i in range(total)
        ]

    assert route53_verdict(observations(3, 16)) == (True, 3, 16)  # 18.75 %
    assert route53_verdict(observations(2, 16)) == (False, 2, 16)  # 12.5 %
    assert route53_verdict([]) == (False, 0, 0)


def test_default_execute_api_hosts_skip_the_legacy_probe_with_the_reason() -> None:
    assert _is_default_execute_api("abc123.execute-api.us-east-1.amazonaws.com")
    assert not _is_default_execute_api("api.example.com")
    assert not _is_default_execute_api("d-abc.execute-api.us-east-1.amazonaws.com.evil.example")
