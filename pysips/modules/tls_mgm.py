"""tls_mgm: TLS domains (certificates, CAs, versions, verification) for ``socket=tls:...`` listeners.

The modparams are OpenSIPS's: 3.x names its domains (``server_domain`` / ``client_domain``) and prefixes every
per-domain value with ``[domain]``; 2.x gives bare values (or ``[ip:port]`` prefixes naming a server domain by its
address). A bare value applies to every domain. Defaults are tls_mgm's documented ones (OpenSIPS 3.4): method
SSLv23 (any version), verify_cert 1, require_cert 1, ca_dir /etc/pki/CA/, the OpenSSL default ciphers. Its default
certificate / private key (CFG_DIR/tls/cert.pem, ckey.pem) are not guessed: a domain without ``certificate`` is
refused at start, naming the modparam.

What the values mean here (Python's ssl, OpenSSL underneath):
- ``verify_cert`` 1: a server domain asks the client for a certificate and checks it when one is sent
  (SSL_VERIFY_PEER); a client domain checks the server's certificate chain against ``ca_list`` / ``ca_dir``. As in
  OpenSIPS, the host name in the certificate is not checked.
- ``require_cert`` 1 (server domains, with verify_cert): a client without a certificate is refused.
- ``tls_method``: one version accepts only that version (TLSv1, TLSv1_1, TLSv1_2, TLSv1_3); ``A-B``, ``A-``,
  ``-B``, ``-`` are ranges; SSLv23 is any version the library allows.
- ``crl_dir`` / ``crl_check_all``: CRLs from a hashed directory, checked for the leaf (or the whole chain).

Domain choice: a listener takes the server domain whose ``match_ip_address`` (or, 2.x, whose name) is its
``ip:port``; otherwise the one named "default", otherwise the first declared. Outgoing connections of that listener
use the client domain that matches any address (``*`` or no match_ip_address; "default" preferred), or the
listener's server domain when no client domain is declared. Per-destination client domains,
``match_sip_domain`` (SNI), ``client_tls_domain_avp`` / ``client_sip_domain_avp`` and DB-provisioned domains are
accepted but not used. The handshake timeout is proto_tls's ``tls_handshake_timeout`` (2.x: tls_mgm's), in ms.

``is_peer_verified()`` returns 1 for a request received over a TLS connection whose peer sent a certificate that
was verified.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any

from pysips.errors import ConfigError
from pysips.modules import ALL_ROUTES, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

__all__ = ["MODULE", "TLSConfig", "build_tls_contexts", "init", "is_peer_verified", "tls_config"]

# per-domain modparams, as OpenSIPS 3.4 lists them
DOMAIN_PARAMS = (
    "tls_method",
    "verify_cert",
    "require_cert",
    "certificate",
    "private_key",
    "crl_check_all",
    "crl_dir",
    "ca_list",
    "ca_dir",
    "ciphers_list",
    "dh_params",
    "ec_curve",
    "match_ip_address",
    "match_sip_domain",
)
DEFAULTS = {"tls_method": "SSLv23", "verify_cert": "1", "require_cert": "1", "crl_check_all": "0"}
DEFAULT_CA_DIR = "/etc/pki/CA/"
DEFAULT_HANDSHAKE_MS = 100
_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1_1": ssl.TLSVersion.TLSv1_1,
    "tlsv1_2": ssl.TLSVersion.TLSv1_2,
    "tlsv1_3": ssl.TLSVersion.TLSv1_3,
}


@dataclass
class Domain:
    name: str
    server: bool  # declared with server_domain (else client_domain)
    values: dict[str, str] = field(default_factory=dict)

    def get(self, shared: dict[str, str], param: str) -> str | None:
        if param in self.values:
            return self.values[param]
        if param in shared:
            return shared[param]
        return DEFAULTS.get(param)

    def addresses(self, shared: dict[str, str]) -> list[str]:
        raw = self.get(shared, "match_ip_address")
        return [a.strip() for a in raw.split(",") if a.strip()] if raw else []


def _split(param: str, value: Any) -> tuple[str | None, str]:
    """``[domain]value`` -> (domain, value); a bare value -> (None, value)."""
    text = str(value).strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigError(
                f'tls_mgm modparam "{param}": "{text}" has no closing "]" after the domain name'
            )
        return text[1:end].strip(), text[end + 1 :].strip()
    return None, text


def _flag(param: str, value: str, domain: str) -> bool:
    if value.strip() in ("0", "1"):
        return value.strip() == "1"
    raise ConfigError(f'tls_mgm modparam "{param}" of TLS domain "{domain}": expected 0 or 1, got "{value}"')


def parse_method(value: str, domain: str = "") -> tuple[ssl.TLSVersion | None, ssl.TLSVersion | None]:
    """tls_method -> (minimum, maximum) TLS version; None leaves the library's bound."""
    text = value.strip().lower()
    if text == "sslv23":
        return None, None

    def one(v: str) -> ssl.TLSVersion | None:
        if v == "":
            return None
        if v in _VERSIONS:
            return _VERSIONS[v]
        raise ConfigError(
            f'tls_mgm modparam "tls_method" of TLS domain "{domain}": unsupported method "{value}" '
            "(TLSv1, TLSv1_1, TLSv1_2, TLSv1_3, SSLv23, or a range such as TLSv1_2-TLSv1_3)"
        )

    if "-" in text:
        low, _, high = text.partition("-")
        return one(low.strip()), one(high.strip())
    version = one(text)
    return version, version


@dataclass
class TLSConfig:
    """The TLS domains of a script. ``contexts(host, port)`` gives a listener's (server_ctx, client_ctx)."""

    domains: list[Domain]
    shared: dict[str, str]
    handshake_timeout: float = DEFAULT_HANDSHAKE_MS / 1000.0
    _built: dict[tuple[str, bool, bool], ssl.SSLContext] = field(default_factory=dict)

    @classmethod
    def from_params(cls, mgm: dict[str, Any], proto_tls: dict[str, Any] | None = None) -> TLSConfig:
        """Parse tls_mgm's resolved modparams (repeatable ones as lists); raises ConfigError."""
        domains: list[Domain] = []
        for key, server in (("server_domain", True), ("client_domain", False)):
            for name in _as_list(mgm.get(key)):
                name = str(name).strip()
                if not name:
                    raise ConfigError(f'tls_mgm modparam "{key}": empty TLS domain name')
                if any(d.name == name and d.server == server for d in domains):
                    raise ConfigError(f'tls_mgm modparam "{key}": TLS domain "{name}" declared twice')
                domains.append(Domain(name, server))
        shared: dict[str, str] = {}
        for param in DOMAIN_PARAMS:
            for raw in _as_list(mgm.get(param)):
                dom, value = _split(param, raw)
                if dom is None:
                    shared[param] = value
                    continue
                targets = [d for d in domains if d.name == dom]
                if not targets:
                    raise ConfigError(
                        f'tls_mgm modparam "{param}": TLS domain "{dom}" is not defined '
                        f'(declare it first: modparam("tls_mgm", "server_domain", "{dom}"))'
                    )
                for d in targets:
                    d.values[param] = value
        # syntax of every domain's values, so `pysips check` reports them
        for d in domains or [Domain("default", True)]:
            parse_method(d.get(shared, "tls_method") or "SSLv23", d.name)
            for flag in ("verify_cert", "require_cert", "crl_check_all"):
                _flag(flag, d.get(shared, flag) or "0", d.name)
        ms = DEFAULT_HANDSHAKE_MS
        for params in (proto_tls or {}, mgm):
            value = params.get("tls_handshake_timeout")
            if isinstance(value, int) and value != DEFAULT_HANDSHAKE_MS:
                ms = value
                break
        if ms <= 0:
            raise ConfigError(f'modparam "tls_handshake_timeout": must be a positive number of ms, got {ms}')
        return cls(domains, shared, ms / 1000.0)

    def _pick(self, server: bool, host: str | None, port: int | None) -> Domain | None:
        cands = [d for d in self.domains if d.server == server]
        if not cands:
            return None
        if host is not None:
            wanted = {f"{host}:{port}", host, f"[{host}]:{port}"}
            for d in cands:
                if d.name in wanted or wanted & set(d.addresses(self.shared)):
                    return d
        anywhere = [d for d in cands if d.addresses(self.shared) in ([], ["*"])] or cands
        return next((d for d in anywhere if d.name == "default"), anywhere[0])

    def domain_for(self, host: str, port: int) -> tuple[Domain, Domain]:
        """(server domain, client domain) of a listener on host:port."""
        server = self._pick(True, host, port) or Domain("default", True)
        client = self._pick(False, None, None) or server
        return server, client

    def contexts(self, host: str, port: int) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        """(server_ctx, client_ctx) for a listener on host:port; raises ConfigError (files, bad values)."""
        server, client = self.domain_for(host, port)
        return self.context(server, True), self.context(client, False)

    def build_all(self) -> None:
        """Load every declared domain (as OpenSIPS does at start): a bad file anywhere refuses the start."""
        for d in self.domains:
            self.context(d, d.server)
        if not self.domains:
            self.contexts("0.0.0.0", 0)  # the implicit default domain of a script that declares none (2.x)

    def context(self, d: Domain, server_side: bool) -> ssl.SSLContext:
        key = (d.name, d.server, server_side)
        ctx = self._built.get(key)
        if ctx is None:
            ctx = self._built[key] = _make_context(d, self.shared, server_side)
        return ctx


def _make_context(d: Domain, shared: dict[str, str], server_side: bool) -> ssl.SSLContext:
    get = d.get
    where = f'TLS domain "{d.name}"'
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    low, high = parse_method(get(shared, "tls_method") or "SSLv23", d.name)
    try:
        if low is not None:
            ctx.minimum_version = low
        if high is not None:
            ctx.maximum_version = high
    except (ValueError, ssl.SSLError) as e:
        raise ConfigError(f'tls_mgm modparam "tls_method" of {where}: {e}') from e
    cert = get(shared, "certificate")
    key = get(shared, "private_key")
    if not cert:
        raise ConfigError(
            f'tls_mgm: {where} has no "certificate" (OpenSIPS would read CFG_DIR/tls/cert.pem); set '
            f'modparam("tls_mgm", "certificate", "[{d.name}]/path/cert.pem") and "private_key"'
        )
    _must_exist("certificate", cert, where)
    if key:
        _must_exist("private_key", key, where)
    try:
        ctx.load_cert_chain(cert, key or None)
    except (ssl.SSLError, OSError) as e:
        param = "private_key" if key or "KEY" in str(e).upper() else "certificate"
        hint = "" if key else ' (no "private_key" set: the certificate file must hold the key too)'
        raise ConfigError(
            f'tls_mgm modparams "certificate" / "{param}" of {where}: cannot load: {e}{hint}'
        ) from e
    verify = _flag("verify_cert", get(shared, "verify_cert") or "0", d.name)
    require = _flag("require_cert", get(shared, "require_cert") or "0", d.name)
    cas = 0
    ca_list = get(shared, "ca_list")
    if ca_list:
        _must_exist("ca_list", ca_list, where)
        try:
            ctx.load_verify_locations(cafile=ca_list)
        except (ssl.SSLError, OSError) as e:
            raise ConfigError(f'tls_mgm modparam "ca_list" of {where}: cannot load {ca_list}: {e}') from e
        cas += 1
    ca_dir = get(shared, "ca_dir")
    if ca_dir:
        _must_exist("ca_dir", ca_dir, where, directory=True)
    elif os.path.isdir(DEFAULT_CA_DIR):
        ca_dir = DEFAULT_CA_DIR
    if ca_dir:
        ctx.load_verify_locations(capath=ca_dir)
        cas += 1
    crl_dir = get(shared, "crl_dir")
    if crl_dir:
        _must_exist("crl_dir", crl_dir, where, directory=True)
        ctx.load_verify_locations(capath=crl_dir)
        all_chain = _flag("crl_check_all", get(shared, "crl_check_all") or "0", d.name)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN if all_chain else ssl.VERIFY_CRL_CHECK_LEAF
    if not server_side:
        # tls_mgm checks the chain, never the host name (RFC 5922 matching is not done by OpenSIPS either)
        ctx.check_hostname = False
    if verify:
        if not cas:
            raise ConfigError(
                f'tls_mgm: {where} verifies peers (verify_cert 1, the default) but has no CA: set "ca_list" '
                f'(modparam("tls_mgm", "ca_list", "[{d.name}]/path/ca.pem")) or "ca_dir", or set "verify_cert" to 0'
            )
        if server_side:
            ctx.verify_mode = ssl.CERT_REQUIRED if require else ssl.CERT_OPTIONAL
        else:
            ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    ciphers = get(shared, "ciphers_list")
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as e:
            raise ConfigError(f'tls_mgm modparam "ciphers_list" of {where}: {e}') from e
    dh = get(shared, "dh_params")
    if dh:
        _must_exist("dh_params", dh, where)
        try:
            ctx.load_dh_params(dh)
        except (ssl.SSLError, OSError) as e:
            raise ConfigError(f'tls_mgm modparam "dh_params" of {where}: {e}') from e
    curve = get(shared, "ec_curve")
    if curve:
        try:
            ctx.set_ecdh_curve(curve)
        except (ValueError, ssl.SSLError) as e:
            raise ConfigError(f'tls_mgm modparam "ec_curve" of {where}: {e}') from e
    return ctx


def _must_exist(param: str, path: str, where: str, directory: bool = False) -> None:
    ok = os.path.isdir(path) if directory else os.path.isfile(path)
    if not ok:
        what = "directory" if directory else "file"
        raise ConfigError(f'tls_mgm modparam "{param}" of {where}: no such {what}: {path}')


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def tls_config(program: Any) -> TLSConfig:
    """The script's TLS configuration, every declared domain loaded; ConfigError when tls_mgm / proto_tls is
    not loaded or a value or file is bad."""
    modparams = getattr(program, "modparams", None) or {}
    missing = [m for m in ("proto_tls", "tls_mgm") if m not in modparams]
    if missing:
        loads = " ".join(f'loadmodule "{m}.so"' for m in missing)
        raise ConfigError(
            f"a tls socket needs the {' and '.join(missing)} module(s), as in OpenSIPS: add {loads}"
        )
    cfg = TLSConfig.from_params(modparams["tls_mgm"], modparams.get("proto_tls"))
    cfg.build_all()
    return cfg


def build_tls_contexts(
    program: Any, host: str = "0.0.0.0", port: int = 5061
) -> tuple[ssl.SSLContext, ssl.SSLContext, float]:
    """(server_ctx, client_ctx, handshake_timeout in s) for a tls listener on host:port."""
    cfg = tls_config(program)
    server_ctx, client_ctx = cfg.contexts(host, port)
    return server_ctx, client_ctx, cfg.handshake_timeout


def init(params: dict[str, Any]) -> None:
    """Load-time check (``pysips check`` too): domain references, methods and 0/1 flags. Files are read when
    `pysips run` opens a tls socket."""
    TLSConfig.from_params(params)


def is_peer_verified(ctx: Any) -> int:
    """1 when the request came over TLS from a peer whose certificate was verified, else -1."""
    if (getattr(ctx, "proto", None) or "") != "tls":
        return -1
    core = getattr(getattr(ctx, "env", None), "core", None)
    if core is None:
        return -1
    src = (ctx.src_ip, ctx.src_port)
    local = (ctx.local_ip, ctx.local_port)
    for t in getattr(core, "transports", ()):
        if t.proto != "tls" or t.local != local:
            continue
        conn = t.connections.get(src)
        get_cert = getattr(getattr(conn, "stream", None), "getpeercert", None)
        if get_cert is None:
            return -1
        try:
            # a certificate is only returned once it was verified (verify_cert 1: CERT_OPTIONAL / CERT_REQUIRED)
            return 1 if get_cert() else -1
        except (ValueError, AttributeError):
            return -1
    return -1


MODULE = ModuleSpec.build(
    "tls_mgm",
    doc="TLS domains for tls sockets (certificates, CAs, versions, verification); see pysips/modules/tls_mgm.py",
    functions=[
        FunctionSpec("is_peer_verified", (), is_peer_verified, frozenset({REQUEST})),
        FunctionSpec("load_tls_mgm", (), None, ALL_ROUTES),
    ],
    params=[
        ModParamSpec("client_domain_avp", STR),
        ModParamSpec("server_domain", STR, None, repeatable=True),
        ModParamSpec("client_domain", STR, None, repeatable=True),
        ModParamSpec("tls_method", STR, None, repeatable=True),
        ModParamSpec("verify_cert", STR, None, repeatable=True),
        ModParamSpec("require_cert", STR, None, repeatable=True),
        ModParamSpec("certificate", STR, None, repeatable=True),
        ModParamSpec("private_key", STR, None, repeatable=True),
        ModParamSpec("crl_check_all", STR, None, repeatable=True),
        ModParamSpec("crl_dir", STR, None, repeatable=True),
        ModParamSpec("ca_list", STR, None, repeatable=True),
        ModParamSpec("ca_dir", STR, None, repeatable=True),
        ModParamSpec("ciphers_list", STR, None, repeatable=True),
        ModParamSpec("dh_params", STR, None, repeatable=True),
        ModParamSpec("ec_curve", STR, None, repeatable=True),
        ModParamSpec("db_mode", INT, 0),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "tls_mgm"),
        ModParamSpec("id_col", STR, "id"),
        ModParamSpec("address_col", STR, "address"),
        ModParamSpec("tls_method_col", STR, "method"),
        ModParamSpec("verify_cert_col", STR, "verify_cert"),
        ModParamSpec("require_cert_col", STR, "require_cert"),
        ModParamSpec("certificate_col", STR, "certificate"),
        ModParamSpec("private_key_col", STR, "private_key"),
        ModParamSpec("crl_check_all_col", STR, "crl_check_all"),
        ModParamSpec("crl_dir_col", STR, "crl_dir"),
        ModParamSpec("ca_list_col", STR, "ca_list"),
        ModParamSpec("ca_dir_col", STR, "ca_dir"),
        ModParamSpec("ciphers_list_col", STR, "cipher_list"),
        ModParamSpec("dh_params_col", STR, "dh_params"),
        ModParamSpec("ec_curve_col", STR, "ec_curve"),
        ModParamSpec("tls_handshake_timeout", INT, 100),
        ModParamSpec("tls_send_timeout", INT, 100),
        ModParamSpec("domain_col", STR, "domain"),
        ModParamSpec("tls_library", STR),
        ModParamSpec("client_tls_domain_avp", STR),
        ModParamSpec("client_sip_domain_avp", STR),
        ModParamSpec("match_ip_address", STR, None, repeatable=True),
        ModParamSpec("match_sip_domain", STR, None, repeatable=True),
        ModParamSpec("match_ip_address_col", STR, "match_ip_address"),
        ModParamSpec("match_sip_domain_col", STR, "match_sip_domain"),
    ],
)
