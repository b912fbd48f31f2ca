"""tls_mgm modparams -> TLS domains and SSLContexts; `pysips check` on scripts with tls sockets."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from pysips.errors import ConfigError
from pysips.modules.tls_mgm import TLSConfig, parse_method
from pysips.proxy.sockets import parse_socket
from pysips.script.check import check_file
from tests.net.test_tls import OPENSSL, Certs, make_certs

CHECK_CFG = """\
socket=udp:127.0.0.1:5060
socket=tls:127.0.0.1:5061
loadmodule "proto_udp.so"
loadmodule "proto_tls.so"
loadmodule "tls_mgm.so"
loadmodule "{lib}.so"
loadmodule "sl.so"
modparam("tls_mgm", "server_domain", "default")
modparam("tls_mgm", "client_domain", "dom")
modparam("tls_mgm", "match_ip_address", "[default]*")
modparam("tls_mgm", "match_sip_domain", "[dom]example.com")
modparam("tls_mgm", "certificate", "[default]/path/cert.pem")
modparam("tls_mgm", "private_key", "[default]/path/key.pem")
modparam("tls_mgm", "ca_list", "[default]/path/ca.pem")
modparam("tls_mgm", "verify_cert", "[default]1")
modparam("tls_mgm", "require_cert", "[default]0")
modparam("tls_mgm", "tls_method", "[default]{method}")
modparam("tls_mgm", "ciphers_list", "[default]HIGH:!aNULL")
modparam("proto_tls", "tls_handshake_timeout", 100)
route {{
    if (is_peer_verified()) sl_send_reply(200, "verified");
    exit;
}}
"""


def _check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "t.cfg"
    path.write_text(text)
    _gen, diags = check_file(str(path))
    return [d.format() for d in diags if d.severity == "error"]


@pytest.mark.parametrize("lib", ["tls_openssl", "tls_wolfssl"])
@pytest.mark.parametrize("method", ["TLSv1_2", "TLSv1_2-TLSv1_3", "SSLv23", "-"])
def test_check_accepts_the_opensips_tls_setup(tmp_path: Path, lib: str, method: str):
    assert _check(tmp_path, CHECK_CFG.format(lib=lib, method=method)) == []


def test_check_reports_an_undeclared_domain_and_a_bad_method(tmp_path: Path):
    text = CHECK_CFG.format(lib="tls_openssl", method="TLSv1_2").replace('"[dom]example.com"', '"[nodom]x"')
    errors = _check(tmp_path, text)
    assert len(errors) == 1 and 'TLS domain "nodom" is not defined' in errors[0]
    errors = _check(tmp_path, CHECK_CFG.format(lib="tls_openssl", method="SSLv3"))
    assert len(errors) == 1 and '"tls_method"' in errors[0] and "SSLv3" in errors[0]


def test_socket_spec_tls_default_port():
    assert (parse_socket("tls:127.0.0.1").proto, parse_socket("tls:127.0.0.1").port) == ("tls", 5061)
    assert parse_socket("tls:127.0.0.1:5071", 5080).port == 5071
    assert parse_socket("udp:127.0.0.1", 5080).port == 5080


def test_parse_method():
    assert parse_method("SSLv23") == (None, None)
    assert parse_method("TLSv1_2") == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    assert parse_method("tlsv1_2-TLSv1_3") == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    assert parse_method("TLSv1_2-") == (ssl.TLSVersion.TLSv1_2, None)
    assert parse_method("-") == (None, None)
    with pytest.raises(ConfigError):
        parse_method("SSLv2")


def test_handshake_timeout_in_ms():
    assert TLSConfig.from_params({}, {"tls_handshake_timeout": 100}).handshake_timeout == pytest.approx(0.1)
    assert TLSConfig.from_params({}, {"tls_handshake_timeout": 2500}).handshake_timeout == pytest.approx(2.5)
    # 2.x sets it on tls_mgm
    assert TLSConfig.from_params({"tls_handshake_timeout": 700}, None).handshake_timeout == pytest.approx(0.7)


def test_domain_choice_by_listener_address_and_2x_names():
    mgm = {
        "server_domain": ["a", "default", "10.0.0.2:5061"],
        "client_domain": ["out"],
        "match_ip_address": ["[a]10.0.0.1:5061, 10.0.0.9:5061", "[default]*", "[out]*"],
        "certificate": ["/c"],
    }
    cfg = TLSConfig.from_params(mgm)
    assert [d.name for d in cfg.domain_for("10.0.0.1", 5061)] == ["a", "out"]
    assert cfg.domain_for("10.0.0.9", 5061)[0].name == "a"
    assert cfg.domain_for("10.0.0.2", 5061)[0].name == "10.0.0.2:5061"  # 2.x: the domain is named by address
    assert cfg.domain_for("127.0.0.1", 5061)[0].name == "default"
    # a bare value applies to every domain; a [domain] value overrides it there
    assert all(d.get(cfg.shared, "certificate") == "/c" for d in cfg.domains)


def test_no_client_domain_uses_the_server_domain():
    cfg = TLSConfig.from_params({"server_domain": ["default"]})
    server, client = cfg.domain_for("127.0.0.1", 5061)
    assert server is client and server.name == "default"


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    if OPENSSL is None:
        pytest.skip("the openssl CLI is not installed")
    return make_certs(tmp_path)


def test_contexts_follow_verify_and_require(certs: Certs):
    base = {"certificate": [str(certs.cert)], "private_key": [str(certs.key)], "ca_list": [str(certs.ca)]}
    server, client = TLSConfig.from_params(base).contexts("127.0.0.1", 5061)
    # documented defaults: verify_cert 1, require_cert 1
    assert server.verify_mode == ssl.CERT_REQUIRED and client.verify_mode == ssl.CERT_REQUIRED
    assert client.check_hostname is False  # tls_mgm never matches the host name
    server, client = TLSConfig.from_params({**base, "require_cert": ["0"]}).contexts("127.0.0.1", 5061)
    assert server.verify_mode == ssl.CERT_OPTIONAL and client.verify_mode == ssl.CERT_REQUIRED
    cfg = TLSConfig.from_params({**base, "verify_cert": ["0"], "tls_method": ["TLSv1_2-TLSv1_3"]})
    server, client = cfg.contexts("127.0.0.1", 5061)
    assert server.verify_mode == client.verify_mode == ssl.CERT_NONE
    assert (
        server.minimum_version == ssl.TLSVersion.TLSv1_2 and server.maximum_version == ssl.TLSVersion.TLSv1_3
    )


def test_bad_files_name_the_modparam(certs: Certs, tmp_path: Path):
    base = {"certificate": [str(certs.cert)], "private_key": [str(certs.key)], "verify_cert": ["0"]}
    TLSConfig.from_params(base).build_all()
    with pytest.raises(ConfigError, match='"private_key".*no such file'):
        TLSConfig.from_params({**base, "private_key": [str(tmp_path / "nope.pem")]}).contexts("127.0.0.1", 1)
    with pytest.raises(ConfigError, match='"ca_list"'):
        TLSConfig.from_params({**base, "verify_cert": ["1"], "ca_list": ["/nonexistent/ca.pem"]}).contexts(
            "127.0.0.1", 1
        )
    with pytest.raises(ConfigError, match='"ciphers_list"'):
        TLSConfig.from_params({**base, "ciphers_list": ["NO-SUCH-CIPHER"]}).contexts("127.0.0.1", 1)
    with pytest.raises(ConfigError, match='"private_key"'):
        # the key of another certificate
        other_key = certs.other_ca.with_suffix(".key")
        TLSConfig.from_params({**base, "private_key": [str(other_key)]}).contexts("127.0.0.1", 1)


def test_verification_without_any_ca_is_refused(certs: Certs, monkeypatch: pytest.MonkeyPatch):
    """verify_cert defaults to 1; with no ca_list / ca_dir (and no /etc/pki/CA/) no peer could ever pass."""
    monkeypatch.setattr("pysips.modules.tls_mgm.DEFAULT_CA_DIR", "/nonexistent/pki/CA/")
    mgm = {"certificate": [str(certs.cert)], "private_key": [str(certs.key)]}
    with pytest.raises(ConfigError, match='"ca_list".*"verify_cert"'):
        TLSConfig.from_params(mgm).build_all()
