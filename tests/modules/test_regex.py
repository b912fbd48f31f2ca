"""POSIX ERE -> Python translation and the /re/repl/flags parser."""

from __future__ import annotations

import pytest

from pysips.modules._regex import compile_ere, ere_to_python, parse_subst, pv_token_end


@pytest.mark.parametrize(
    ("ere", "text", "matches"),
    [
        ("[[:digit:]]+", "abc123", True),
        ("^[[:alpha:]]+$", "abc1", False),
        (r"[\.]", "\\", True),  # a backslash is literal inside brackets
        (r"a\.b", "axb", False),
        ("*abc", "x*abc", True),  # a leading '*' is literal
        (r"\<bob\>", "to bob!", True),
        ("^sip:", "SIP:x", True),  # case-insensitive by default
        ("(a|b)+c", "ababc", True),
        ("[^x]", "\n", False),  # REG_NEWLINE: a non-matching list never matches a newline
        ("a{2}", "aa", True),
    ],
)
def test_ere_semantics(ere: str, text: str, matches: bool) -> None:
    assert bool(compile_ere(ere).search(text)) is matches


def test_newline_mode_controls_anchors_and_dot() -> None:
    text = "line1\r\nline2"
    assert compile_ere("^line2", newline=True).search(text)
    assert not compile_ere("^line2", newline=False).search(text)
    assert compile_ere("1.*2", newline=False).search(text)
    assert not compile_ere("1.*2", newline=True).search(text)


def test_bad_regex_message() -> None:
    with pytest.raises(ValueError, match="bad regular expression"):
        compile_ere("(abc")
    with pytest.raises(ValueError, match="unknown character class"):
        ere_to_python("[[:nope:]]")


def test_subst_groups_flags_and_escapes() -> None:
    se = parse_subst("/(a)(b)/\\2\\1\\n\\\\/g")
    assert se.run("abxab") == ("ba\n\\xba\n\\", 2)
    once = parse_subst("/a/X/")
    assert once.run("aaa") == ("Xaa", 1)
    icase = parse_subst("|A|z|i")
    assert icase.run("bab") == ("bzb", 1)
    assert parse_subst("/q/z/").run("abc") == ("abc", 0)


def test_subst_separator_escape_and_errors() -> None:
    assert parse_subst(r"/a\/b/c/").run("xa/b") == ("xc", 1)
    with pytest.raises(ValueError, match="unknown flag"):
        parse_subst("/a/b/x")
    with pytest.raises(ValueError, match="group"):
        parse_subst("/a/\\1/")
    with pytest.raises(ValueError, match="separator"):
        parse_subst("/abc")


def test_subst_with_pseudo_variables() -> None:
    class FakePV:
        def __init__(self, text: str) -> None:
            self.text = text

        def get(self, ctx: object) -> str:
            return f"<{self.text}>"

    se = parse_subst("/x/$var(a)-$(avp(b)[1])/", pv_parser=FakePV)
    assert se.run("x", ctx=object()) == ("<$var(a)>-<$(avp(b)[1])>", 1)
    assert pv_token_end("$ru@x", 0) == 3
