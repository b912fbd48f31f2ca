"""End-to-end leak test of topology_hiding(): a SIPp caller and a SIPp callee on 127.0.0.1 talk through
`pysips run`; every message each side receives is read back from SIPp's -trace_msg log and its Via,
Record-Route, Route and Contact headers must not name the other side's port. With flag C the callee sees an
encoded Call-ID and the caller its own (SIPp matches the caller's replies and the callee's BYE by Call-ID, so a
Call-ID that was not restored fails the call).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import needs_sipp
from tests.e2e.test_proxy import run_one_call

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios_th"
HOST = "127.0.0.1"

TH_SCRIPT = """
log_level=2
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
{dialog}
loadmodule "topology_hiding.so"
modparam("tm", "fr_inv_timeout", 5)
route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route() && !topology_hiding_match()) { send_reply(404, "Not here"); exit; }
        t_relay();
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    {create}
    if (!record_route() || !topology_hiding({flags})) { send_reply(500, "Internal Server Error"); exit; }
    $du = "sip:127.0.0.1:{uas_port}";
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
"""

ROUTING = ("via", "record-route", "route", "contact", "v", "m")


def routing_lines(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in ROUTING:
            out.append(line.strip())
    return out


def run_call(tmp_path: Path, *, flags: str, dialog: bool, uac: str, uas: str) -> dict:
    script = (
        TH_SCRIPT.replace("{dialog}", 'loadmodule "dialog.so"' if dialog else "")
        .replace("{create}", "create_dialog();" if dialog else "")
        .replace("{flags}", f'"{flags}"' if flags else "")
    )
    return run_one_call(tmp_path, script, SCENARIOS / uac, SCENARIOS / uas)


def assert_no_leak(msgs: list, other_port: int, proxy_port: int) -> None:
    assert msgs
    for m in msgs:
        for line in routing_lines(m.text):
            assert f":{other_port}" not in line, f"{line!r} leaks the other side in\n{m.text}"
        contacts = m.header("Contact")
        for c in contacts:
            assert f"127.0.0.1:{proxy_port}" in c, f"Contact {c!r} is not the proxy's"


@pytest.mark.parametrize(
    ("flags", "dialog", "param"),
    [("", False, "thinfo="), ("", True, "did="), ("U", False, "thinfo=")],
    ids=["dialogless", "dialog", "dialogless-U"],
)
def test_no_topology_leaks_either_way(tmp_path: Path, flags: str, dialog: bool, param: str) -> None:
    got = run_call(tmp_path, flags=flags, dialog=dialog, uac="uac_th.xml", uas="uas_th.xml")
    assert_no_leak(got["uas"], got["uac_port"], got["proxy_port"])
    assert_no_leak(got["uac"], got["uas_port"], got["proxy_port"])
    invite = next(m for m in got["uas"] if m.is_request("INVITE"))
    (ct,) = invite.header("Contact")
    assert param in ct
    if flags == "U":
        assert ct.startswith("<sip:alice@")
    assert len(invite.header("Via")) == 1
    methods = [m.first_line.split()[0] for m in got["uas"] if not m.first_line.startswith("SIP/")]
    assert methods == ["INVITE", "ACK", "BYE"]


def test_callid_hidden_and_restored_with_C(tmp_path: Path) -> None:
    got = run_call(tmp_path, flags="C", dialog=True, uac="uac_th_wait_bye.xml", uas="uas_th_bye.xml")
    assert_no_leak(got["uas"], got["uac_port"], got["proxy_port"])
    assert_no_leak(got["uac"], got["uas_port"], got["proxy_port"])
    uas_ids = {m.header("Call-ID")[0] for m in got["uas"]}
    uac_ids = {m.header("Call-ID")[0] for m in got["uac"]}
    assert len(uas_ids) == 1 and len(uac_ids) == 1
    (hidden,) = uas_ids
    (own,) = uac_ids
    assert hidden.startswith("DLGCH_") and hidden != own
    # the callee's BYE reached the caller with the caller's own Call-ID
    assert [m.header("Call-ID")[0] for m in got["uac"] if m.is_request("BYE")] == [own]
