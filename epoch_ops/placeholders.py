"""Settings values that cannot be a real deployment: settings.toml's examples and reserved names."""

from __future__ import annotations

from epoch_settings import Settings

# settings.toml's example values (tests/test_ops.py keeps them equal to that file's).
EXAMPLE_DOMAIN = "epochregister.example.com"
EXAMPLE_ZONE = "Z0123456789EXAMPLE0AB"
EXAMPLE_BUCKET = "epoch-register-tfstate-example"
EXAMPLE_EMAIL = "oncall@example.com"
# Names no public DNS will ever serve (RFC 2606, RFC 6761).
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")


def _reserved(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return domain.rsplit(".", 1)[-1] in RESERVED_TLDS or any(
        domain == d or domain.endswith(f".{d}") for d in RESERVED_DOMAINS
    )


def placeholder_keys(settings: Settings) -> list[str]:
    """The keys whose values are still examples, each as `key = value`."""
    found = []
    if settings.domain_name == EXAMPLE_DOMAIN or _reserved(settings.domain_name):
        found.append(f"domain_name = {settings.domain_name}")
    if settings.hosted_zone_id == EXAMPLE_ZONE:
        found.append(f"hosted_zone_id = {settings.hosted_zone_id}")
    if settings.remote_state.bucket == EXAMPLE_BUCKET:
        found.append(f"remote_state.bucket = {settings.remote_state.bucket}")
    email = settings.alarm_email
    if email is not None and (email == EXAMPLE_EMAIL or _reserved(email.rpartition("@")[2])):
        found.append(f"alarm_email = {email}")
    return found
