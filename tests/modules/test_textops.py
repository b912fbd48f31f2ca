"""textops: search/replace/subst on the message text; the result is checked on to_bytes()."""

from __future__ import annotations

from pysips.modules import textops as t
from pysips.modules._regex import compile_script_regex as rx
from tests.modules._msgs import BYE, REPLY_180, make_ctx


def test_search_covers_the_whole_message() -> None:
    c = make_ctx()
    assert t.w_search(c, rx("^INVITE sip:bob")) == 1
    assert t.w_search(c, rx("o=alice")) == 1
    assert t.w_search(c, rx("nothing-like-this")) == -1
    assert t.w_search_body(c, rx("^o=alice")) == 1
    assert t.w_search_body(c, rx("Call-ID")) == -1
    assert t.w_search_body(make_ctx(BYE), rx(".")) == -1


def test_replace_leaves_the_request_line_alone() -> None:
    c = make_ctx()
    assert t.w_replace(c, rx("bob@example.com"), "carol@example.org") == 1
    out = c.msg.to_bytes()
    assert out.startswith(b"INVITE sip:bob@example.com SIP/2.0\r\n")
    assert b"To: Bob <sip:carol@example.org>\r\n" in out


def test_replace_all_and_content_length_follows_body_changes() -> None:
    c = make_ctx()
    assert t.w_replace_all(c, rx("10\\.0\\.0\\.1"), "192.168.100.100") == 1
    out = c.msg.to_bytes()
    assert out.count(b"192.168.100.100") == 3  # Via, Contact, SDP
    head, body = out.split(b"\r\n\r\n", 1)
    assert body == b"v=0\r\no=alice 1 1 IN IP4 192.168.100.100"
    assert f"Content-Length: {len(body)}".encode() in head
    assert c.msg.via.host == "192.168.100.100"  # the message was re-parsed


def test_replace_body_variants() -> None:
    c = make_ctx()
    assert t.w_replace_body(c, rx("alice"), "bob") == 1
    assert c.msg.body == b"v=0\r\no=bob 1 1 IN IP4 10.0.0.1"
    assert t.w_replace_body_all(c, rx("1"), "2") == 1
    assert c.msg.body == b"v=0\r\no=bob 2 2 IN IP4 20.0.0.2"
    assert b"Content-Length: 30\r\n" in c.msg.to_bytes()  # "alice" -> "bob"


def test_search_append() -> None:
    c = make_ctx()
    assert t.w_search_append(c, rx("^Call-ID: [^\r\n]*"), "\r\nX-Added: yes") == 1
    assert b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nX-Added: yes\r\nCSeq" in c.msg.to_bytes()
    assert c.msg.get_header("X-Added") == "yes"


def test_subst_headers_with_backreferences() -> None:
    c = make_ctx()
    se = t.subst_fixup("/^(From: )Alice/\\1Carol/")
    assert t.w_subst(c, se) == 1
    assert b"\r\nFrom: Carol <sip:alice@atlanta.com>;tag=1928301774\r\n" in c.msg.to_bytes()
    assert c.msg.from_.display.strip('"') == "Carol"
    assert t.w_subst(c, t.subst_fixup("/^X-None: .*$//")) == -1


def test_subst_global_flag() -> None:
    c = make_ctx()
    assert t.w_subst(c, t.subst_fixup("/atlanta\\.com/atl.example/g")) == 1
    out = c.msg.to_bytes()
    assert b"atlanta.com" not in out and out.count(b"atl.example") == 2


def test_subst_refuses_an_edit_that_breaks_the_message() -> None:
    c = make_ctx()
    before = c.msg.to_bytes()
    assert t.w_subst(c, t.subst_fixup("/^CSeq: .*$/CSeq: garbage/")) == -1
    assert c.msg.to_bytes() == before


def test_subst_uri_and_subst_user() -> None:
    c = make_ctx()
    assert t.w_subst_uri(c, t.subst_fixup("/^sip:([a-z]+)@example\\.com$/sip:\\1@10.1.1.1:5070/")) == 1
    assert c.msg.to_bytes().startswith(b"INVITE sip:bob@10.1.1.1:5070 SIP/2.0\r\n")
    assert c.ouri == "sip:bob@example.com"
    assert t.w_subst_user(c, t.subst_fixup("/^b/+40b/")) == 1
    assert str(c.msg.ruri) == "sip:+40bob@10.1.1.1:5070"
    assert t.w_subst_user(c, t.subst_fixup("/^zzz/x/")) == -1


def test_subst_body() -> None:
    c = make_ctx()
    assert t.w_subst_body(c, t.subst_fixup("/IN IP4 ([0-9.]+)/IN IP4 1.1.1.1/")) == 1
    assert c.msg.body.endswith(b"IN IP4 1.1.1.1")


def test_works_on_replies() -> None:
    c = make_ctx(REPLY_180, route_type="onreply")
    assert t.w_replace(c, rx("Bob"), "Robert") == 1
    assert c.msg.to_bytes().startswith(b"SIP/2.0 180 Ringing\r\n")
    assert b"To: Robert <sip:bob@example.com>;tag=a6c85cf" in c.msg.to_bytes()


def test_request_reference_follows_the_rebuilt_message() -> None:
    c = make_ctx()
    c.req = c.msg
    t.w_replace(c, rx("Alice"), "Al")
    assert c.req is c.msg


def test_textops_1x_header_functions_are_declared() -> None:
    f = t.MODULE.functions
    for name in ("append_hf", "is_method", "remove_hf", "has_body", "subst_body"):
        assert f[name].impl is not None
