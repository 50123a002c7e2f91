"""The TLS checks: each https host's certificate, and TLS 1.0/1.1 refused."""

from __future__ import annotations

import socket
import ssl
import warnings
from datetime import UTC, datetime
from urllib.parse import urlsplit

from verify.client import describe
from verify.run import FAIL, PASS, SKIP, Result, Run


def _https_hosts(run: Run) -> list[tuple[str, int]]:
    urls = ([run.target.api_url] if run.target.api_url else []) + list(
        run.target.endpoints.values()
    )
    hosts: list[tuple[str, int]] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            entry = (parts.hostname, parts.port or 443)
            if entry not in hosts:
                hosts.append(entry)
    return hosts


def check_tls(run: Run) -> list[Result]:
    hosts = _https_hosts(run)
    if not hosts:
        return [Result("tls", "-", SKIP, "no https URL (http has no certificate or TLS to check)")]
    results = []
    for host, port in hosts:
        scope = f"{host}:{port}"
        results.append(_certificate(scope, host, port, run))
        if _is_default_execute_api(host):
            results.append(
                Result(
                    "tls-legacy",
                    scope,
                    SKIP,
                    "a regional API's default execute-api endpoint uses AWS's TLS_1_0 "
                    "policy and cannot be changed; the custom domain (api URL) is checked",
                )
            )
        else:
            results.append(_legacy_refused(scope, host, port, run.options.timeout))
    return results


def _is_default_execute_api(host: str) -> bool:
    """`<id>.execute-api.<region>.amazonaws.com`: API Gateway applies security policy
    TLS_1_0 to default endpoints of regional APIs; only custom domains take TLS_1_2
    (API Gateway Developer Guide, "Choose a security policy for your REST API custom
    domain")."""
    labels = host.lower().split(".")
    return len(labels) == 5 and labels[1] == "execute-api" and labels[3:] == ["amazonaws", "com"]


def _certificate(scope: str, host: str, port: int, run: Run) -> Result:
    try:
        with (
            socket.create_connection((host, port), timeout=run.options.timeout) as raw,
            run.ssl_context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert() or {}
            version = tls.version()
    except OSError as exc:
        return Result("tls-certificate", scope, FAIL, describe(exc))
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), tz=UTC)
    days = (expires - datetime.now(tz=UTC)).days
    figures = {"protocol": version, "expires": expires.date().isoformat(), "days_left": days}
    return Result("tls-certificate", scope, PASS, f"valid for {host}, {days} days left", figures)


def _legacy_refused(scope: str, host: str, port: int, timeout: float) -> Result:
    if not (ssl.HAS_TLSv1 or ssl.HAS_TLSv1_1):
        return Result("tls-legacy", scope, SKIP, "this Python's OpenSSL cannot offer TLS 1.0/1.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        # Offering the deprecated versions is the point of this probe.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        # OpenSSL 3 disables TLS < 1.2 at its default security level: allow it to offer them.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as exc:
        return Result("tls-legacy", scope, SKIP, f"cannot offer TLS 1.0/1.1 here: {exc}")
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            accepted = tls.version()
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc)
        if "NO_PROTOCOLS_AVAILABLE" in reason.upper() or "NO PROTOCOLS" in reason.upper():
            return Result(
                "tls-legacy", scope, SKIP, f"this OpenSSL refuses to offer TLS <= 1.1 ({reason})"
            )
        return Result("tls-legacy", scope, PASS, f"TLS 1.0/1.1 refused ({reason})")
    except OSError as exc:
        return Result("tls-legacy", scope, FAIL, describe(exc))
    return Result("tls-legacy", scope, FAIL, f"accepted {accepted}", {"protocol": accepted})
