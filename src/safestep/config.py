"""Settings read from the environment, checked before Django starts.

Every variable of interfaces.md (Configuration) is parsed here, and a bad value raises
:class:`ConfigError`, whose message is one line naming the variable. Start-up turns that
into a clean exit instead of a traceback, so an operator sees exactly what to fix.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
import stat
import time
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """A configuration variable holds a value SafeStep cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class EmailSettings:
    backend: str
    file_path: Path | None = None
    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    default_from: str = "SafeStep <safestep@localhost>"


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in through the district's identity provider (OpenID Connect)."""

    # Exactly as the provider's discovery document spells it, without a trailing slash.
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    # Shown on the sign-in button ("Sign in with ..."); empty for the default wording.
    name: str = ""
    # Whether an ID token saying the provider checked a second factor (amr "mfa" or "otp")
    # stands in for SafeStep's own second factor.
    trust_mfa: bool = False


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database: dict[str, Any]
    secret_key: str
    email: EmailSettings
    debug: bool
    allowed_hosts: list[str]
    time_zone: str
    # Encryption at rest: (key id, 32-byte key) pairs, the current key first.
    encryption_keys: tuple[tuple[str, bytes], ...] = ()
    # The file the keys were read from (None when they came from the environment): a
    # rotation writes its new key there, and running processes notice the change.
    encryption_keys_file: Path | None = None
    session_idle_minutes: int = 15
    max_upload_mb: int = 20
    # Served over HTTPS (SAFESTEP_HTTPS): cookies are Secure and HSTS is sent.
    https: bool = True
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Origins (https://host[:port]) whose forms Django's CSRF check accepts besides its own.
    csrf_trusted_origins: tuple[str, ...] = ()
    # SAFESTEP_BENCH: load the benchmark app, a development tool found only in a source
    # checkout (src/safestep_bench); without it this changes nothing.
    bench: bool = False
    # The host name passkeys are bound to (their WebAuthn relying party id): the
    # SAFESTEP_PASSKEY_RP_ID, or else the first host name of SAFESTEP_ALLOWED_HOSTS.
    passkey_rp_id: str = "localhost"
    # Single sign-on (SAFESTEP_OIDC_*), None when no issuer is configured.
    oidc: OidcSettings | None = None
    # SAFESTEP_PASSWORD_SIGNIN=false leaves single sign-on as the only way in.
    password_signin: bool = True


def parse_bool(variable: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(variable, f"expected true or false, got {raw!r}")


def parse_int(variable: str, raw: str, *, minimum: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(variable, f"expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(variable, f"must be at least {minimum}, got {value}")
    return value


def parse_time_zone(variable: str, raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(variable, f"unknown time zone {raw!r} (use an IANA name)") from None
    return raw


def parse_hosts(variable: str, raw: str) -> list[str]:
    hosts = [host.strip() for host in raw.split(",") if host.strip()]
    if not hosts:
        raise ConfigError(variable, "must name at least one host")
    for host in hosts:
        if " " in host or "/" in host:
            raise ConfigError(variable, f"{host!r} is not a host name")
    return hosts


def _entries(raw: str) -> list[str]:
    return [entry.strip() for entry in raw.split(",") if entry.strip()]


def parse_networks(
    variable: str, raw: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated IP addresses or CIDR networks (``10.0.0.5, 10.1.0.0/16, ::1``)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in _entries(raw):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                variable, f"{entry!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
            ) from None
        if network.prefixlen == 0:
            raise ConfigError(
                variable, f"{entry!r} would believe every address; name your proxies' addresses"
            )
        networks.append(network)
    return tuple(networks)


_ORIGIN_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def parse_origins(variable: str, raw: str) -> tuple[str, ...]:
    """Comma-separated https origins (``https://safestep.example.org[:port]``)."""
    origins: list[str] = []
    for entry in _entries(raw):
        example = "such as https://safestep.example.org"
        parts = urlsplit(entry)
        if parts.scheme.lower() != "https":
            raise ConfigError(variable, f"{entry!r} is not an https origin {example}")
        try:
            parts.port  # noqa: B018 (reading it checks the port)
        except ValueError:
            raise ConfigError(variable, f"{entry!r} has a port that is not a number") from None
        host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
        if (
            "@" in parts.netloc
            or not _ORIGIN_HOST.match(host)
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ConfigError(
                variable, f"{entry!r} is not an origin (scheme and host only) {example}"
            )
        origins.append(f"https://{parts.netloc.lower()}")
    return tuple(origins)


def sqlite_settings(path: Path) -> dict[str, Any]:
    """The embedded database: SQLite tuned so several server processes can share it.

    IMMEDIATE transactions take the write lock up front, so concurrent writers queue on the
    busy timeout instead of failing half-way with "database is locked". WAL lets readers
    run beside a writer; synchronous=FULL because an acknowledged write must survive a
    power cut, not just a crash of the process.
    """
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA busy_timeout=30000;"
            ),
        },
    }


def parse_database(variable: str, raw: str, data_dir: Path) -> dict[str, Any]:
    if not raw:
        return sqlite_settings(data_dir / "safestep.sqlite3")
    scheme = raw.split(":", 1)[0].lower()
    if scheme == "sqlite":
        path = raw[len("sqlite://") :] if raw.startswith("sqlite://") else ""
        if not path or path == "/":
            raise ConfigError(
                variable, "sqlite URL needs a file path, e.g. sqlite:////srv/db.sqlite3"
            )
        return sqlite_settings(Path(path[1:] if path.startswith("//") else path))
    if scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ConfigError(variable, f"unsupported scheme {scheme!r} (use sqlite or postgres)")
    try:
        parsed: dict[str, Any] = dict(dj_database_url.parse(raw, conn_max_age=60))
    except ValueError as error:
        raise ConfigError(variable, f"cannot parse: {error}") from None
    if not parsed.get("NAME"):
        raise ConfigError(variable, "the PostgreSQL URL must name a database")
    parsed["CONN_HEALTH_CHECKS"] = True
    options = parsed.setdefault("OPTIONS", {})
    options["connect_timeout"] = 5
    # Parameters travel apart from the SQL, so a query's text is the same for every case:
    # psycopg then prepares a query it has sent five times on a connection, and PostgreSQL
    # plans it once. The case read (a dozen subqueries) took 7 ms to plan and 2 to run at a
    # million cases (docs/performance.md).
    options["server_side_binding"] = True
    options["prepare_threshold"] = 5  # psycopg's own default; Django turns it off
    return parsed


def parse_email(variable: str, raw: str, data_dir: Path) -> EmailSettings:
    if not raw:
        return EmailSettings(
            backend="django.core.mail.backends.filebased.EmailBackend",
            file_path=data_dir / "mail",
        )
    parts = urlsplit(raw)
    if parts.scheme == "file":
        if not parts.path:
            raise ConfigError(variable, "file URL needs a folder, e.g. file:///var/mail/safestep")
        return EmailSettings(
            backend="django.core.mail.backends.filebased.EmailBackend",
            file_path=Path(unquote(parts.path)),
        )
    if parts.scheme in {"smtp", "smtps", "submission"}:
        if not parts.hostname:
            raise ConfigError(variable, "SMTP URL needs a host, e.g. smtp://user:pw@mail:587")
        query = parse_qs(parts.query)
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(variable, "the port is not a number") from None
        use_ssl = parts.scheme == "smtps"
        use_tls = not use_ssl and (
            parts.scheme == "submission" or query.get("tls", ["0"])[0] in TRUE_WORDS
        )
        default_port = 465 if use_ssl else 587 if use_tls else 25
        sender = query.get("from", ["SafeStep <safestep@localhost>"])[0]
        return EmailSettings(
            backend="django.core.mail.backends.smtp.EmailBackend",
            host=parts.hostname,
            port=port or default_port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=use_tls,
            use_ssl=use_ssl,
            default_from=sender,
        )
    raise ConfigError(variable, f"unsupported scheme {parts.scheme!r} (use smtp, smtps or file)")


def read_secret(environ: Mapping[str, str], variable: str) -> str | None:
    """A secret from VARIABLE, or from the file named by VARIABLE_FILE."""
    direct = environ.get(variable)
    file_name = environ.get(f"{variable}_FILE")
    if direct and file_name:
        raise ConfigError(variable, f"set either {variable} or {variable}_FILE, not both")
    if direct:
        return direct.strip()
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as error:
            problem = f"cannot read {file_name}: {error.strerror}"
            raise ConfigError(f"{variable}_FILE", problem) from None
    return None


def owner_only_file(variable: str, path: Path, make_value: Any) -> str:
    """Read a generated secret from PATH, creating it owner-only (0600) on first run.

    O_EXCL makes the creation race-free when several server processes start together:
    exactly one writes the file and the others read what it wrote.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                variable, f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}"
            ) from None
        existing = path.read_text(encoding="utf-8").strip()
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            created = str(make_value())
            handle.write(created + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return created
    for _ in range(50):
        if existing:
            return existing
        # Another process created the file a moment ago and is still writing it.
        time.sleep(0.05)
        existing = path.read_text(encoding="utf-8").strip()
    raise ConfigError(variable, f"{path} is empty")


KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ENCRYPTION_KEY_BYTES = 32


def new_encryption_key() -> bytes:
    return secrets.token_bytes(ENCRYPTION_KEY_BYTES)


def format_encryption_keys(keys: Sequence[tuple[str, bytes]]) -> str:
    """Keys as SAFESTEP_ENCRYPTION_KEYS spells them: one ``id:base64`` per line, current first."""
    return "\n".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in keys)


def parse_encryption_keys(variable: str, raw: str) -> tuple[tuple[str, bytes], ...]:
    """``id:base64key`` entries separated by commas or new lines; the first is current.

    Messages name the entry by position and never echo key material.
    """
    entries = [entry.strip() for entry in re.split(r"[,\n]", raw) if entry.strip()]
    if not entries:
        raise ConfigError(variable, "no keys given; expected id:base64key[,id:base64key...]")
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, separator, encoded = entry.partition(":")
        if not separator or not KEY_ID_PATTERN.match(key_id):
            raise ConfigError(
                variable,
                f"entry {position} is not id:base64key (an id is 1-32 letters, digits, - or _)",
            )
        # Standard or URL-safe alphabet, padding optional.
        normal = encoded.strip().replace("-", "+").replace("_", "/").rstrip("=")
        try:
            key = base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(variable, f"key {key_id!r} is not valid base64") from None
        if len(key) != ENCRYPTION_KEY_BYTES:
            raise ConfigError(
                variable,
                f"key {key_id!r} is {len(key)} bytes; AES-256 needs {ENCRYPTION_KEY_BYTES}",
            )
        if any(key_id == known for known, _ in keys):
            raise ConfigError(variable, f"key id {key_id!r} appears twice")
        keys.append((key_id, key))
    return tuple(keys)


def load_encryption_keys(
    environ: Mapping[str, str], data_dir: Path
) -> tuple[tuple[tuple[str, bytes], ...], Path | None]:
    """The keys, and the file they came from (None for the environment variable).

    The embedded default makes one key on first run, in DATA_DIR/encryption_keys (0600).
    """
    variable = "SAFESTEP_ENCRYPTION_KEYS"
    raw = read_secret(environ, variable)
    if raw is not None:
        file_name = environ.get(f"{variable}_FILE")
        source = Path(file_name).expanduser().resolve() if file_name else None
        return parse_encryption_keys(f"{variable}_FILE" if source else variable, raw), source
    path = data_dir / "encryption_keys"
    raw = owner_only_file(
        variable, path, lambda: format_encryption_keys([("k1", new_encryption_key())])
    )
    return parse_encryption_keys(variable, raw), path


# Files SafeStep creates are its owner's alone: 0600 files, 0700 folders.
PRIVATE_UMASK = 0o077


def private_files() -> None:
    """Make every file this process creates from now on owner-only.

    That covers what SafeStep does not open itself: the SQLite database and its ``-wal``
    and ``-shm`` files (SQLite creates them), and e-mail written to a folder (Django's
    file backend). Bits the operator's own umask already withholds stay withheld.
    """
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
OIDC_VARIABLES = (
    "SAFESTEP_OIDC_CLIENT_ID",
    "SAFESTEP_OIDC_CLIENT_SECRET",
    "SAFESTEP_OIDC_CLIENT_SECRET_FILE",
    "SAFESTEP_OIDC_NAME",
    "SAFESTEP_OIDC_TRUST_MFA",
)


def parse_issuer(variable: str, raw: str, *, debug: bool) -> str:
    """The identity provider's issuer URL: https, or http on this machine or in debug."""
    parts = urlsplit(raw)
    example = "such as https://accounts.google.com"
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError(variable, f"{raw!r} is not an issuer URL {example}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS and not debug:
        # The provider's keys and tokens travel over this connection.
        raise ConfigError(variable, f"{raw!r} must use https {example}")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigError(variable, f"{raw!r} is not an issuer URL (no query or user) {example}")
    return raw.rstrip("/")


def load_oidc(env: Mapping[str, str], *, debug: bool) -> OidcSettings | None:
    """Single sign-on settings, or None without SAFESTEP_OIDC_ISSUER."""
    issuer_raw = env.get("SAFESTEP_OIDC_ISSUER", "").strip()
    if not issuer_raw:
        for variable in OIDC_VARIABLES:
            if env.get(variable, "").strip():
                raise ConfigError("SAFESTEP_OIDC_ISSUER", f"must be set when {variable} is")
        return None
    issuer = parse_issuer("SAFESTEP_OIDC_ISSUER", issuer_raw, debug=debug)
    client_id = env.get("SAFESTEP_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        raise ConfigError("SAFESTEP_OIDC_CLIENT_ID", "must be set when SAFESTEP_OIDC_ISSUER is")
    client_secret = read_secret(env, "SAFESTEP_OIDC_CLIENT_SECRET")
    if not client_secret:
        raise ConfigError(
            "SAFESTEP_OIDC_CLIENT_SECRET",
            "must be set (or SAFESTEP_OIDC_CLIENT_SECRET_FILE) when SAFESTEP_OIDC_ISSUER is",
        )
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        name=env.get("SAFESTEP_OIDC_NAME", "").strip(),
        trust_mfa=parse_bool(
            "SAFESTEP_OIDC_TRUST_MFA", env.get("SAFESTEP_OIDC_TRUST_MFA", "false")
        ),
    )


def parse_password_signin(env: Mapping[str, str], oidc: OidcSettings | None) -> bool:
    variable = "SAFESTEP_PASSWORD_SIGNIN"
    allowed = parse_bool(variable, env.get(variable, "true") or "true")
    if not allowed and oidc is None:
        raise ConfigError(
            variable, "cannot be false without SAFESTEP_OIDC_ISSUER: nobody could sign in"
        )
    return allowed


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _is_host_name(host: str) -> bool:
    """A DNS name (not an IP address, not a wildcard): what WebAuthn accepts as an RP id."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return bool(_HOST_NAME.match(host))
    return False


def parse_passkey_rp_id(variable: str, raw: str, allowed_hosts: Sequence[str]) -> str:
    """The host name passkeys are bound to. A passkey works only on that host (and its
    subdomains) and must be registered again if it changes, so it is set once per site.

    Unset, it is the first host name among the allowed hosts (``localhost`` when there is
    none, e.g. only IP addresses: passkeys are then offered on no page).
    """
    names = [host.lower().lstrip(".") for host in allowed_hosts if host != "*"]
    if not raw.strip():
        return next((name for name in names if _is_host_name(name)), "localhost")
    rp_id = raw.strip().lower()
    if not _is_host_name(rp_id):
        raise ConfigError(
            variable,
            f"{raw!r} is not a host name (no scheme, port or IP address), "
            "e.g. safestep.example.org",
        )
    if "*" not in allowed_hosts and not any(
        name == rp_id or name.endswith(f".{rp_id}") for name in names
    ):
        raise ConfigError(
            variable,
            f"{rp_id!r} is neither one of SAFESTEP_ALLOWED_HOSTS nor a parent domain of one",
        )
    return rp_id


def ensure_data_dir(variable: str, raw: str) -> Path:
    path = Path(raw).expanduser().resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(variable, f"cannot create {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(variable, f"{path} is not writable")
    return path


def load(environ: Mapping[str, str] | None = None) -> Config:
    """Read and check the whole configuration; raise ConfigError on the first bad value."""
    env = os.environ if environ is None else environ
    private_files()
    data_dir = ensure_data_dir("SAFESTEP_DATA_DIR", env.get("SAFESTEP_DATA_DIR", "./safestep-data"))
    database = parse_database("DATABASE_URL", env.get("DATABASE_URL", "").strip(), data_dir)
    secret_key = read_secret(env, "SAFESTEP_SECRET_KEY") or owner_only_file(
        "SAFESTEP_SECRET_KEY", data_dir / "secret_key", lambda: secrets.token_urlsafe(50)
    )
    if len(secret_key) < 32:
        raise ConfigError("SAFESTEP_SECRET_KEY", "must be at least 32 characters long")
    encryption_keys, encryption_keys_file = load_encryption_keys(env, data_dir)
    debug = parse_bool("SAFESTEP_DEBUG", env.get("SAFESTEP_DEBUG", "false"))
    https_raw = env.get("SAFESTEP_HTTPS", "").strip()
    oidc = load_oidc(env, debug=debug)
    allowed_hosts = parse_hosts(
        "SAFESTEP_ALLOWED_HOSTS", env.get("SAFESTEP_ALLOWED_HOSTS", "localhost,127.0.0.1")
    )
    return Config(
        data_dir=data_dir,
        database=database,
        secret_key=secret_key,
        email=parse_email(
            "SAFESTEP_EMAIL_URL", env.get("SAFESTEP_EMAIL_URL", "").strip(), data_dir
        ),
        debug=debug,
        allowed_hosts=allowed_hosts,
        time_zone=parse_time_zone(
            "SAFESTEP_TIME_ZONE", env.get("SAFESTEP_TIME_ZONE", "America/Los_Angeles")
        ),
        encryption_keys=encryption_keys,
        encryption_keys_file=encryption_keys_file,
        session_idle_minutes=parse_int(
            "SAFESTEP_SESSION_IDLE_MINUTES", env.get("SAFESTEP_SESSION_IDLE_MINUTES", "15")
        ),
        max_upload_mb=parse_int("SAFESTEP_MAX_UPLOAD_MB", env.get("SAFESTEP_MAX_UPLOAD_MB", "20")),
        # Served over HTTPS unless said otherwise; debug (a developer's machine) defaults off.
        https=parse_bool("SAFESTEP_HTTPS", https_raw) if https_raw else not debug,
        trusted_proxies=parse_networks(
            "SAFESTEP_TRUSTED_PROXIES", env.get("SAFESTEP_TRUSTED_PROXIES", "")
        ),
        csrf_trusted_origins=parse_origins(
            "SAFESTEP_CSRF_TRUSTED_ORIGINS", env.get("SAFESTEP_CSRF_TRUSTED_ORIGINS", "")
        ),
        bench=parse_bool("SAFESTEP_BENCH", env.get("SAFESTEP_BENCH", "false")),
        passkey_rp_id=parse_passkey_rp_id(
            "SAFESTEP_PASSKEY_RP_ID", env.get("SAFESTEP_PASSKEY_RP_ID", ""), allowed_hosts
        ),
        oidc=oidc,
        password_signin=parse_password_signin(env, oidc),
    )
