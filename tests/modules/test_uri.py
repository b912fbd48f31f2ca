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


def test_db_functions_check_credentials_and_the_subscriber_table(tmp_path) -> None:
    from pysips.modules import uri_db

    assert uri.MODULE.functions["is_user"].impl is None  # still declared only
    assert uri.MODULE.params["use_domain"].default == 0
    db = tmp_path / "db"
    db.mkdir()
    (db / "subscriber").write_text("id(int,auto) username(string) domain(string) \n:bob:example.com\n")
    uri.init({"db_url": f"text://{db}", "use_domain": 1})
    try:
        c = make_ctx()  # From alice@atlanta.com, To / R-URI bob@example.com
        assert uri_db.w_check_to(c) == -1  # not authenticated
        c.auth_user = ("bob", "example.com")
        assert uri_db.w_check_to(c) == 1 and uri_db.w_check_from(c) == -1
        assert uri_db.w_does_uri_exist(c) == 1
        c.msg.ruri = "sip:bob@other.org"
        assert uri_db.w_does_uri_exist(c) == -1  # use_domain: the host counts
    finally:
        uri.init({})
