"""uri (2.x): has_totag, uri_param, add_uri_param, del_uri_param, is_uri_user_e164; DB functions declared only."""

from __future__ import annotations

from pysips.modules import uri
from tests.modules._msgs import BYE, make_ctx


def test_has_totag() -> None:
    f = uri.MODULE.functions["has_totag"].impl
    assert f(make_ctx()) == -1 and f(make_ctx(BYE)) == 1


def test_uri_params_edit_the_request_line() -> None:
    c = make_ctx()
    assert uri.w_uri_param(c, "transport") == -1
    assert uri.w_add_uri_param(c, "transport=tcp") == 1
    assert c.msg.to_bytes().startswith(b"INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n")
    assert uri.w_uri_param(c, "transport", "tcp") == 1
    assert uri.w_del_uri_param(c, "transport") == 1
    assert uri.w_del_uri_param(c, "transport") == -1


def test_is_uri_user_e164_2x_form() -> None:
    f = uri.MODULE.functions["is_uri_user_e164"].impl
    assert f(make_ctx(), "sip:+12125551234@x") == 1


def test_db_functions_are_declared_not_implemented() -> None:
    for name in ("db_check_from", "db_check_to", "db_does_uri_exist", "is_user"):
        assert uri.MODULE.functions[name].impl is None
    assert uri.MODULE.params["use_domain"].default == 0
