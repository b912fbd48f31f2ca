"""b2b_init_request flag syntaxes (2.x "id/flags", 3.2 letters, 3.4+ CSV)."""

from __future__ import annotations

import pytest

from pysips.b2b.logic import InitFlags, parse_flags, split_scenario


@pytest.mark.parametrize(
    ("scenario", "flags", "sid", "expect"),
    [
        ("top hiding", None, "top hiding", InitFlags()),
        ("top hiding/t300a", None, "top hiding", InitFlags(setup_timeout=300, transparent_auth=True)),
        ("top hiding/p", None, "top hiding", InitFlags(preserve_to=True)),
        ("top hiding", "t60ap", "top hiding", InitFlags(60, True, True)),
        (
            "top hiding",
            "setup-timeout=45, transparent-auth, preserve-to",
            "top hiding",
            InitFlags(45, True, True),
        ),
        ("top hiding", "pass-legs-upstream", "top hiding", InitFlags(pass_legs_upstream=True)),
        ("prepaid", "", "prepaid", InitFlags()),
    ],
)
def test_flag_syntaxes(scenario, flags, sid, expect):
    assert split_scenario(scenario, flags) == (sid, expect)


def test_bad_flags_name_the_item():
    with pytest.raises(ValueError, match="unknown b2b_init_request flag 'bogus'"):
        parse_flags("bogus, transparent-auth")
    with pytest.raises(ValueError, match="bad setup-timeout value 'x'"):
        parse_flags("setup-timeout=x")
