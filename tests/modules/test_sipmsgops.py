"""sipmsgops: header edits checked on the serialized message, checks on requests and replies."""

from __future__ import annotations

import re

from pysips.modules import sipmsgops as so
from tests.modules._msgs import BYE, REPLY_180, header_lines, make_ctx


def test_append_hf_goes_after_the_last_header() -> None:
    c = make_ctx()
    assert so.w_append_hf(c, "X-One: 1\r\nX-Two: 2\r\n") == 1
    assert header_lines(c)[-2:] == ["X-One: 1", "X-Two: 2"]
    assert c.msg.to_bytes().endswith(
        b"Content-Length: 32\r\nX-One: 1\r\nX-Two: 2\r\n\r\nv=0\r\no=alice 1 1 IN IP4 10.0.0.1"
    )


def test_append_hf_and_insert_hf_with_anchor() -> None:
    c = make_ctx()
    assert so.w_append_hf(c, "X-After: a\r\n", "Call-ID") == 1
    assert so.w_insert_hf(c, "X-Before: b\r\n", "CSeq") == 1
    names = [h.split(":")[0] for h in header_lines(c)]
    i = names.index("Call-ID")
    assert names[i : i + 4] == ["Call-ID", "X-After", "X-Before", "CSeq"]
    assert so.w_append_hf(c, "X-Z: z\r\n", "No-Such-Header") == -1


def test_insert_hf_goes_first() -> None:
    c = make_ctx()
    assert so.w_insert_hf(c, "X-First: 1\r\n") == 1
    assert header_lines(c)[0] == "X-First: 1"


def test_bad_header_text_is_refused() -> None:
    c = make_ctx()
    assert so.w_append_hf(c, "no colon here\r\n") == -1
    assert "no colon here" not in c.msg.to_bytes().decode()


def test_remove_hf_returns_the_count() -> None:
    c = make_ctx()
    so.w_append_hf(c, "X-Dup: 1\r\nX-Dup: 2\r\n")
    assert so.w_remove_hf(c, "x-dup") == 2
    assert so.w_remove_hf(c, "X-Dup") == -1
    assert so.w_remove_hf(c, "l") == 1  # compact form of Content-Length
    assert not c.msg.has_header("Content-Length")


def test_remove_hf_re_and_glob() -> None:
    c = make_ctx()
    so.w_append_hf(c, "X-A: 1\r\nX-B: 2\r\nY-C: 3\r\n")
    assert so.w_remove_hf_re(c, re.compile("^x-", re.I)) == 2
    assert so.w_remove_hf_glob(c, "Y-*") == 1
    assert not any(h.startswith(("X-", "Y-")) for h in header_lines(c))


def test_is_present_hf_is_method_has_totag() -> None:
    c = make_ctx()
    assert so.w_is_present_hf(c, "call-id") == 1 and so.w_is_present_hf(c, "i") == 1
    assert so.w_is_present_hf(c, "Route") == -1
    assert so.w_is_method(c, "BYE|INVITE") == 1 and so.w_is_method(c, "ACK") == -1
    assert so.w_is_method(c, so.methods_fixup("bye|invite")) == 1
    assert so.w_has_totag(c) == -1
    assert so.w_has_totag(make_ctx(BYE)) == 1
    rep = make_ctx(REPLY_180)
    assert so.w_is_method(rep, "INVITE") == 1  # replies use the CSeq method


def test_ruri_params() -> None:
    c = make_ctx()
    assert so.w_ruri_has_param(c, "user") == -1
    assert so.w_ruri_add_param(c, "user=phone") == 1
    assert str(c.msg.ruri) == "sip:bob@example.com;user=phone"
    assert so.w_ruri_has_param(c, "user", "phone") == 1
    assert so.w_ruri_has_param(c, "user", "ip") == -1
    assert so.w_ruri_del_param(c, "user") == 1
    assert c.msg.to_bytes().startswith(b"INVITE sip:bob@example.com SIP/2.0")


def test_is_uri_user_e164() -> None:
    c = make_ctx()
    assert so.w_is_uri_user_e164(c, "sip:+40721234567@x.com") == 1
    assert so.w_is_uri_user_e164(c, "sip:bob@x.com") == -1
    assert so.w_is_uri_user_e164(c, "tel:+1") == -1


def test_append_to_reply_and_append_time() -> None:
    c = make_ctx()
    assert so.w_append_to_reply(c, "X-Reason: test") == 1
    assert so.w_append_time(c) == 1
    assert c.reply_headers[0] == "X-Reason: test\r\n"
    assert c.reply_headers[1].startswith("Date: ") and c.reply_headers[1].endswith("GMT\r\n")


def test_has_body() -> None:
    c = make_ctx()
    assert so.w_has_body(c) == 1
    assert so.w_has_body(c, "application/sdp") == 1
    assert so.w_has_body(c, "text/plain") == -1
    assert so.w_has_body(make_ctx(BYE)) == -1


def test_list_hdr_options() -> None:
    c = make_ctx()
    so.w_append_hf(c, "Supported: timer, 100rel\r\n")
    assert so.w_list_hdr_has_option(c, "Supported", "100REL") == 1
    assert so.w_list_hdr_add_option(c, "Supported", "path") == 1
    assert c.msg.get_header("Supported") == "timer, 100rel, path"
    assert so.w_list_hdr_remove_option(c, "Supported", "timer") == 1
    assert so.w_list_hdr_has_option(c, "Supported", "timer") == -1


def test_change_reply_status() -> None:
    c = make_ctx(REPLY_180)
    assert so.w_change_reply_status(c, 183, "Session Progress") == 1
    assert c.msg.to_bytes().startswith(b"SIP/2.0 183 Session Progress\r\n")
    assert so.w_change_reply_status(c, 200, "OK") == -1


def test_is_privacy() -> None:
    c = make_ctx()
    so.w_append_hf(c, "Privacy: id; header\r\n")
    assert so.w_is_privacy(c, "id") == 1 and so.w_is_privacy(c, "user") == -1
