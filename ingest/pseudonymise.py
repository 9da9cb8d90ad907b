"""Personal data stops here: keyed hashes for identifiers, age bands for dates of birth.

Each domain of personal data (``domestic_abuse``, ``treatment``, ``offenders``) has a key of its
own, so a token from the IDVA service cannot be matched to one from the treatment service
unless the partnership configures the two domains as linked (then they share one key, named
after the group, e.g. ``offenders+treatment``).

A key never lives in the repository or the warehouse. For a key named ``treatment`` it comes
from ``CSP_PSEUDO_KEY_TREATMENT`` (with ``CSP_PSEUDO_KEY_TREATMENT_VERSION``, default 1), or
from the key directory (``CSP_PSEUDO_KEY_DIR``, default ``<home>/keys``): the highest
``treatment/v<N>.key`` is the current key, version N. Every token is stored beside the label of
the key that made it (``treatment/v2``), so a rotation (``csp rekey``) can be checked and a
mixture of keys is refused. ``csp demo`` creates local key files and says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.contracts import DOMAINS, all_contracts
from core.settings import Settings
from ingest.private import private_folder

KEY_ENV_PREFIX = "CSP_PSEUDO_KEY_"
KEY_DIR_ENV = "CSP_PSEUDO_KEY_DIR"
LINK_ENV = "CSP_PSEUDO_LINK"
# Read by an earlier version, when one key served every domain.
RETIRED_SINGLE_KEY_ENV = "CSP_PSEUDO_KEY"
MIN_KEY_BYTES = 16
_KEY_FILE = re.compile(r"v(\d+)\.key")


class MissingKeyError(RuntimeError):
    """A pseudonymisation key is not configured: nothing personal may be loaded."""


class KeyConfigError(ValueError):
    """The key or linking configuration is wrong; the message says which setting."""


@dataclass(frozen=True)
class DomainKey:
    """One version of one key. ``source`` says where it came from (never the key itself)."""

    name: str  # a domain, or linked domains joined by '+'
    version: int
    secret: bytes = field(repr=False)
    source: str = ""

    @property
    def label(self) -> str:
        """What is stored beside each token made with this key, e.g. ``treatment/v2``."""
        return f"{self.name}/v{self.version}"


def key_env(name: str) -> str:
    """The environment variable holding the key named ``name``."""
    return KEY_ENV_PREFIX + re.sub(r"[^A-Z0-9]+", "_", name.upper())


def key_dir(home: Path) -> Path:
    """The directory of key files: ``CSP_PSEUDO_KEY_DIR``, else ``<home>/keys``."""
    return Path(os.environ.get(KEY_DIR_ENV) or home / "keys")


def parse_links(groups: Iterable[Sequence[str]] | str | None) -> dict[str, str]:
    """Domain -> key name, for the domains configured to share a key.

    ``groups`` is ``CSP_PSEUDO_LINK``'s text (``"offenders+treatment,..."``) or csp.toml's
    ``[pseudonymisation] link = [["offenders", "treatment"]]``.
    """
    if not groups:
        return {}
    if isinstance(groups, str):
        groups = [g.split("+") for g in groups.split(",") if g.strip()]
    links: dict[str, str] = {}
    for group in groups:
        members = sorted({d.strip() for d in group if d.strip()})
        unknown = [d for d in members if d not in DOMAINS]
        if unknown or len(members) < 2:
            raise KeyConfigError(
                f"a linked group needs two or more of {', '.join(DOMAINS)}; got {list(group)}"
            )
        name = "+".join(members)
        for domain in members:
            if domain in links:
                raise KeyConfigError(f"the domain {domain} is in two linked groups")
            links[domain] = name
    return links


@dataclass(frozen=True)
class Pseudonymiser:
    """HMAC-SHA256 tokens: the same identifier gives the same token under the same key."""

    keys: Mapping[str, DomainKey]  # by key name
    links: Mapping[str, str] = field(default_factory=dict)  # domain -> linked key name

    def key_name(self, domain: str) -> str:
        """The name of the key serving ``domain`` (its own, or its linked group's)."""
        return self.links.get(domain, domain)

    def key_for(self, domain: str) -> DomainKey:
        """The current key for ``domain``."""
        return self.keys[self.key_name(domain)]

    def token(self, domain: str, value: str | None) -> str | None:
        """The token for ``value`` within ``domain`` (equal IDs in unlinked domains never match)."""
        if value is None or value == "":
            return None
        key = self.key_for(domain)
        # The key name is in the message too: a key file copied to a second domain still
        # gives tokens that do not match the first's.
        message = f"{key.name}\x1f{value.strip()}".encode()
        return hmac.new(key.secret, message, hashlib.sha256).hexdigest()

    def with_key(self, key: DomainKey) -> Pseudonymiser:
        """The same configuration with one key replaced (a rotation's new version)."""
        return replace(self, keys={**self.keys, key.name: key})


def checked_secret(secret: bytes, source: str) -> bytes:
    """``secret``, or MissingKeyError if it is too short to be a key."""
    if len(secret) < MIN_KEY_BYTES:
        raise MissingKeyError(
            f"the pseudonymisation key from {source} is too short (< {MIN_KEY_BYTES} bytes)"
        )
    return secret


def key_files(home: Path, name: str) -> dict[int, Path]:
    """The key files of ``name`` by version (``pending`` ones excluded)."""
    folder = key_dir(home) / name
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = _KEY_FILE.fullmatch(path.name)
        if match:
            found[int(match[1])] = path
    return found


def load_key(home: Path, name: str) -> DomainKey:
    """The current version of the key named ``name``, or MissingKeyError saying how to set it."""
    variable = key_env(name)
    from_env = os.environ.get(variable)
    if from_env:
        version_text = os.environ.get(f"{variable}_VERSION", "1")
        if not version_text.isdigit() or int(version_text) < 1:
            raise KeyConfigError(
                f"{variable}_VERSION must be a whole number from 1, not {version_text!r}"
            )
        return DomainKey(
            name, int(version_text), checked_secret(from_env.encode("utf-8"), variable), variable
        )
    files = key_files(home, name)
    if not files:
        hint = ""
        if os.environ.get(RETIRED_SINGLE_KEY_ENV):
            hint = (
                f" ({RETIRED_SINGLE_KEY_ENV} is no longer read: each domain has a key of its own)"
            )
        raise MissingKeyError(
            f"no pseudonymisation key for {name}: set {variable} or create the key file "
            f"{key_dir(home) / name / 'v1.key'}{hint}; the pipeline will not load personal "
            "data without one"
        )
    version = max(files)
    path = files[version]
    return DomainKey(name, version, checked_secret(path.read_bytes().strip(), str(path)), str(path))


def load_pseudonymiser(
    home: Path, links: Mapping[str, str] | None = None, domains: Iterable[str] | None = None
) -> Pseudonymiser:
    """Every key the feeds need (``domains``, default all the contracts use), or one
    MissingKeyError naming each missing variable."""
    if domains is None:
        domains = {c.pseudonym_domain for c in all_contracts().values() if c.pseudonym_domain}
    links = dict(links or {})
    names = sorted({links.get(d, d) for d in domains})
    keys, missing = {}, []
    for name in names:
        try:
            keys[name] = load_key(home, name)
        except MissingKeyError as error:
            missing.append(str(error))
    if missing:
        raise MissingKeyError("; ".join(missing))
    return Pseudonymiser(keys, links)


def pseudonymiser_for(settings: Settings, feeds: Iterable[str] | None = None) -> Pseudonymiser:
    """The keys a home's feeds need; MissingKeyError names each one not configured.

    ``feeds`` limits it to the feeds named that have something waiting in landing: a home
    that takes only public data (police.uk) needs no key, and a personal-data feed's key
    is still demanded before any of its files is read.
    """
    if feeds is None:
        return load_pseudonymiser(settings.home, settings.pseudonym_links)
    contracts = all_contracts()
    domains = {
        contracts[f].pseudonym_domain
        for f in feeds
        if contracts[f].pseudonym_domain and _has_landed(settings.landing / f)
    }
    return load_pseudonymiser(
        settings.home, settings.pseudonym_links, domains={d for d in domains if d is not None}
    )


def _has_landed(folder: Path) -> bool:
    try:
        return any(True for _ in folder.iterdir())
    except OSError:
        return False


def create_key_file(path: Path) -> bool:
    """Create a random key file readable only by its owner; False if one already exists."""
    if path.exists():
        return False
    # The key folder and the domain's folder in it, whatever the umask made of them.
    private_folder(path.parent, path.parent.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return True


def create_demo_keys(home: Path, names: Iterable[str] = DOMAINS) -> list[Path]:
    """A first key file for every domain that has none yet; the files created."""
    created = []
    for name in names:
        if not key_files(home, name):
            path = key_dir(home) / name / "v1.key"
            if create_key_file(path):
                created.append(path)
    return created


# Age bands that may reach the warehouse (docs/feeds.md §2: treatment Date of Birth).
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
