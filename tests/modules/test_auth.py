"""auth + auth_db: digest challenge, verification against a db_text subscriber table, return codes, consume."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from pysips.modules import auth, auth_db
from pysips.script.context import Context, Env
from pysips.sip.message import parse_message

REGISTER = (
    "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-{b}\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:alice@example.com>\r\nCall-ID: reg1@x\r\n"
    "CSeq: {n} REGISTER\r\nContact: <sip:alice@10.0.0.1:5062>\r\n{auth}Content-Length: 0\r\n\r\n"
)


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


@pytest.fixture
def subscribers(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "subscriber").write_text(
        "id(int,auto) username(string) domain(string) password(string) ha1(string) \n"
        f":alice:example.com:secret:{md5('alice:example.com:secret')}\n"
        f":bob:example.com:hunter2:{md5('bob:example.com:hunter2')}\n"
    )
    auth.init({"secret": "s3cr3t", "nonce_expire": 30})
    auth_db.init({"db_url": f"text://{db}"})


def ctx_for(auth_header: str = "", n: int = 1) -> Context:
    msg = parse_message(REGISTER.format(b=n, n=n, auth=auth_header).encode())
    return Context(msg, src=("10.0.0.1", 5062), local=("127.0.0.1", 5060), env=Env())


def challenge(qop: str = "auth") -> dict[str, str]:
    c = ctx_for()
    assert auth.w_www_challenge(c, "", qop) == 1
    assert c.env.actions[-1]["kind"] == "reply" and c.env.actions[-1]["code"] == 401
    (line,) = c.reply_headers
    assert line.startswith("WWW-Authenticate: Digest ")
    return dict(re.findall(r'(\w+)="?([^",\r]+)"?', line.split(" ", 2)[2]))


def answer(
    ch: dict[str, str], user: str, password: str, *, method: str = "REGISTER", qop: bool = True
) -> str:
    uri = "sip:example.com"
    ha1 = md5(f"{user}:{ch['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    if qop:
        resp = md5(f"{ha1}:{ch['nonce']}:00000001:0a4f113b:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="0a4f113b"'
    else:
        resp = md5(f"{ha1}:{ch['nonce']}:{ha2}")
        extra = ""
    return (
        f'Authorization: Digest username="{user}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", '
        f'uri="{uri}", response="{resp}", algorithm=MD5{extra}\r\n'
    )


def test_challenge_then_authorize(subscribers: None) -> None:
    ch = challenge()
    assert ch["realm"] == "example.com" and ch["qop"] == "auth" and ch["algorithm"] == "MD5"
    c = ctx_for(answer(ch, "alice", "secret"))
    assert auth_db.w_www_authorize(c, "", "subscriber") == 1
    assert auth.w_consume_credentials(c) == 1
    assert c.msg.get_header("Authorization") is None
    # 2.x qop flag "0": no qop, RFC 2069 response
    ch = challenge("0")
    assert "qop" not in ch
    assert auth_db.w_www_authorize(ctx_for(answer(ch, "bob", "hunter2", qop=False)), "", "subscriber") == 1


def test_return_codes(subscribers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ch = challenge()
    assert auth_db.w_www_authorize(ctx_for(), "", "subscriber") == -4  # no credentials
    assert auth_db.w_www_authorize(ctx_for(answer(ch, "carol", "x")), "", "subscriber") == -1  # no such user
    assert auth_db.w_www_authorize(ctx_for(answer(ch, "alice", "wrong")), "", "subscriber") == -2
    forged = dict(ch, nonce=ch["nonce"][:-1] + ("0" if ch["nonce"][-1] != "0" else "1"))
    assert auth_db.w_www_authorize(ctx_for(answer(forged, "alice", "secret")), "", "subscriber") == -2
    # the nonce expires: -3, and the next challenge says stale=true
    real_time = auth.time.time
    monkeypatch.setattr(auth.time, "time", lambda: real_time() + 31)
    c = ctx_for(answer(ch, "alice", "secret"))
    assert auth_db.w_www_authorize(c, "", "subscriber") == -3
    assert auth.w_www_challenge(c, "", "auth") == 1 and "stale=true" in c.reply_headers[-1]
    # credentials for another realm do not count
    assert auth_db.w_www_authorize(ctx_for(answer(ch, "alice", "secret")), "other.org", "subscriber") == -4


def test_proxy_challenge_and_plain_passwords(subscribers: None, tmp_path: Path) -> None:
    c = ctx_for()
    assert auth.w_proxy_challenge(c, "example.com", "auth") == 1
    assert c.env.actions[-1]["code"] == 407 and c.reply_headers[0].startswith("Proxy-Authenticate: Digest ")
    ch = dict(re.findall(r'(\w+)="?([^",\r]+)"?', c.reply_headers[0].split(" ", 2)[2]))
    auth_db.init({"db_url": f"text://{tmp_path / 'db'}", "password_column": "password", "calculate_ha1": 1})
    hdr = answer(ch, "alice", "secret").replace("Authorization:", "Proxy-Authorization:")
    assert auth_db.w_proxy_authorize(ctx_for(hdr), "example.com", "subscriber") == 1
    assert auth_db.w_www_authorize(ctx_for(hdr), "example.com", "subscriber") == -4  # wrong header kind


def test_a_database_pysips_cannot_read_is_a_generic_error() -> None:
    auth.init({})
    auth_db.init({"db_url": "mysql://u:p@localhost/opensips"})
    ch = challenge()
    assert auth_db.w_www_authorize(ctx_for(answer(ch, "alice", "secret")), "", "subscriber") == -5
