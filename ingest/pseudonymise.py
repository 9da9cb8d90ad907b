"""Personal data stops here: keyed hashes for identifiers, age bands for dates of birth.

The key never lives in the repository or the warehouse. It comes from ``CSP_PSEUDO_KEY`` or
from a key file (``CSP_PSEUDO_KEY_FILE``, default ``<home>/keys/pseudonymisation.key``); the
pipeline refuses to run without one. ``csp demo`` creates a local key file and says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_ENV = "CSP_PSEUDO_KEY"
KEY_FILE_ENV = "CSP_PSEUDO_KEY_FILE"
MIN_KEY_BYTES = 16


class MissingKeyError(RuntimeError):
    """No pseudonymisation key is configured: nothing personal may be loaded."""


@dataclass(frozen=True)
class Pseudonymiser:
    """HMAC-SHA256 tokens: the same identifier gives the same token under the same key."""

    key: bytes

    def token(self, domain: str, value: str | None) -> str | None:
        """The token for ``value`` within ``domain`` (so equal IDs in two services never link)."""
        if value is None or value == "":
            return None
        message = f"{domain}\x1f{value.strip()}".encode("utf-8")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """A short, non-reversible fingerprint of the key, safe to store beside tokens."""
        return hmac.new(self.key, b"csp-key-id", hashlib.sha256).hexdigest()[:12]


def default_key_file(home: Path) -> Path:
    """Where the key file is looked for when ``CSP_PSEUDO_KEY_FILE`` is not set."""
    return Path(os.environ.get(KEY_FILE_ENV) or home / "keys" / "pseudonymisation.key")


def load_pseudonymiser(home: Path) -> Pseudonymiser:
    """The configured key, or MissingKeyError naming both ways to provide one."""
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        key = env_key.encode("utf-8")
    else:
        path = default_key_file(home)
        if not path.is_file():
            raise MissingKeyError(
                f"no pseudonymisation key: set {KEY_ENV} or create the key file {path} "
                f"(or set {KEY_FILE_ENV}); the pipeline will not load personal data without one"
            )
        key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise MissingKeyError(f"the pseudonymisation key is too short (< {MIN_KEY_BYTES} bytes)")
    return Pseudonymiser(key)


def create_key_file(path: Path) -> bool:
    """Create a random key file readable only by its owner; False if one already exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return True


# Age bands that may reach the warehouse (SPEC.md: treatment date of birth).
AGE_BAND_SQL = """
case
    when {dob} is null or {at} is null then null
    when date_part('year', age({at}, {dob})) < 18 then 'under 18'
    when date_part('year', age({at}, {dob})) < 25 then '18-24'
    when date_part('year', age({at}, {dob})) < 35 then '25-34'
    when date_part('year', age({at}, {dob})) < 45 then '35-44'
    when date_part('year', age({at}, {dob})) < 55 then '45-54'
    else '55+'
end
"""
