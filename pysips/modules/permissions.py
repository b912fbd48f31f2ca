"""permissions: check_address / check_source_address over a db_text address table (default partition);
allow_* file checks and the trusted table are declared only."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from pysips.db.dbtext import DBTextError, open_db
from pysips.errors import ConfigError, MIError
from pysips.modules import (
    ANY,
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STARTUP,
    STR,
    TIMER,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error

# ---------------------------------------------------------------------------------------------- implementation
#
# The address table (OpenSIPS permissions, default partition): rows (grp, ip, mask, port, proto, pattern,
# context_info) from a db_text table, read at script load and by MI address_reload. check_address /
# check_source_address match an address when its group is the one asked (0: any group), the IP is inside
# ip/mask, the port is the row's or the row's port is 0, the protocol is the row's or the row's is "any", and the
# row's pattern (a regular expression) matches the given pattern string when both are set. The first match writes
# its context_info to the variable and returns 1; -1 otherwise.


@dataclass(frozen=True, slots=True)
class Address:
    grp: int
    net: Any
    port: int
    proto: str
    pattern: re.Pattern | None
    info: str


_perm: dict[str, Any] = {"params": {}, "rows": [], "problem": None}


def _load(params: dict[str, Any]) -> None:
    url = params.get("db_url")
    rows: list[Address] = []
    problem = None
    if url:
        g = lambda key, dflt: str(params.get(key) or dflt)  # noqa: E731
        try:
            table = open_db(str(url)).table(g("address_table", "address"))
        except DBTextError as e:
            table = None
            problem = f"permissions: {e}; no addresses"
        if table is not None:
            for r in table.rows:
                try:
                    ip = str(r.get(g("ip_col", "ip")) or r.get("ip_addr") or "")
                    mask = int(r.get(g("mask_col", "mask")) or (32 if ":" not in ip else 128))
                    pat = r.get(g("pattern_col", "pattern"))
                    rows.append(
                        Address(
                            int(r.get(g("grp_col", "grp")) or 0),
                            ipaddress.ip_network(f"{ip}/{mask}", strict=False),
                            int(r.get(g("port_col", "port")) or 0),
                            str(r.get(g("proto_col", "proto")) or "any").lower(),
                            re.compile(str(pat)) if pat else None,
                            str(r.get(g("info_col", "context_info")) or ""),
                        )
                    )
                except (ValueError, re.error) as e:
                    raise ConfigError(f"permissions: address row {r.get('id')}: {e}") from None
    _perm.update(params=params, rows=rows, problem=problem)


def init(params: dict[str, Any]) -> None:
    _load(params)


def match_address(group: int, ip: str, port: int, proto: str, pattern: str | None) -> Address | None:
    try:
        addr = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return None
    proto = (proto or "any").lower()
    for a in _perm["rows"]:
        if group and a.grp != group:
            continue
        if addr.version != a.net.version or addr not in a.net:
            continue
        if a.port and port and a.port != port:
            continue
        if a.proto not in ("any", "") and proto != "any" and a.proto != proto:
            continue
        if a.pattern is not None and pattern is not None and not a.pattern.search(pattern):
            continue
        return a
    return None


def _answer(ctx: Any, found: Address | None, info_var: Any) -> int:
    if _perm["problem"]:
        log_error(ctx, _perm["problem"])
        _perm["problem"] = None
    if found is None:
        return -1
    if info_var is not None:
        info_var.set(ctx, "=", found.info)
    return 1


def w_check_address(
    ctx: Any, group: int, ip: str, port: int, proto: str, info_var: Any = None, pattern: str | None = None,
    partition: str | None = None,
) -> int:  # fmt: skip
    return _answer(ctx, match_address(int(group), str(ip), int(port or 0), str(proto), pattern), info_var)


def w_check_source_address(
    ctx: Any, group: int, info_var: Any = None, pattern: str | None = None, partition: str | None = None
) -> int:
    found = match_address(int(group), ctx.src_ip, ctx.src_port, ctx.proto or "udp", pattern)
    return _answer(ctx, found, info_var)


def mi_address_reload(core: Any, params: Any = None) -> str:
    _load(_perm["params"])
    if _perm["problem"]:
        raise MIError(_perm["problem"], 500)
    return "OK"


def mi_address_dump(core: Any, params: Any = None) -> dict:
    return {
        "IPs": [
            {"grp": a.grp, "ip": str(a.net.network_address), "mask": a.net.prefixlen, "port": a.port,
             "proto": a.proto, "pattern": a.pattern.pattern if a.pattern else None, "context_info": a.info}
            for a in _perm["rows"]
        ]
    }  # fmt: skip


MODULE = ModuleSpec.build(
    "permissions",
    doc="check_address / check_source_address over db_text; address_reload / address_dump",
    functions=[
        FunctionSpec(
            "check_address",
            (
                ParamSpec(INT, name="group_id"),
                ParamSpec(STR, name="ip"),
                ParamSpec(INT, name="port"),
                ParamSpec(STR, name="proto"),
                ParamSpec(VAR, optional=True, name="context_info"),
                ParamSpec(STR, optional=True, name="pattern"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_check_address,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "check_source_address",
            (
                ParamSpec(INT, name="group_id"),
                ParamSpec(VAR, optional=True, name="context_info"),
                ParamSpec(STR, optional=True, name="pattern"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_check_source_address,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "get_source_group",
            (ParamSpec(VAR, optional=True, name="var"), ParamSpec(STR, optional=True, name="partition")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "allow_routing",
            (
                ParamSpec(STR, optional=True, name="allow_file"),
                ParamSpec(ANY, optional=True, name="deny_file"),
            ),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
        FunctionSpec(
            "allow_register",
            (ParamSpec(STR, name="allow_file"), ParamSpec(ANY, optional=True, name="deny_file")),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
        FunctionSpec(
            "allow_uri",
            (ParamSpec(STR, name="basename"), ParamSpec(STR, name="uri")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "allow_trusted",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "allow_address",
            (ParamSpec(ANY), ParamSpec(ANY), ParamSpec(ANY)),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
        FunctionSpec("allow_source_address", (ParamSpec(ANY),), None, frozenset({REQUEST, FAILURE})),
        FunctionSpec("allow_source_address_group", (), None, frozenset({REQUEST, FAILURE})),
    ],
    params=[
        ModParamSpec("default_allow_file", STR),
        ModParamSpec("default_deny_file", STR),
        ModParamSpec("check_all_branches", INT, 1),
        ModParamSpec("allow_suffix", STR, ".allow"),
        ModParamSpec("deny_suffix", STR, ".deny"),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_mode", INT),
        ModParamSpec("trusted_table", STR, "trusted"),
        ModParamSpec("source_col", STR, "src_ip"),
        ModParamSpec("proto_col", STR, "proto"),
        ModParamSpec("from_col", STR, "pattern"),
        ModParamSpec("tag_col", STR, "tag"),
        ModParamSpec("peer_tag_avp", STR),
        ModParamSpec("address_table", STR, "address"),
        ModParamSpec("grp_col", STR, "grp"),
        ModParamSpec("ip_addr_col", STR, "ip_addr"),
        ModParamSpec("mask_col", STR, "mask"),
        ModParamSpec("port_col", STR, "port"),
        ModParamSpec("ip_col", STR, "ip"),
        ModParamSpec("info_col", STR, "context_info"),
        ModParamSpec("pattern_col", STR, "pattern"),
        ModParamSpec("partition", STR, None, repeatable=True),
    ],
    mi_commands={"address_reload": mi_address_reload, "address_dump": mi_address_dump},
)
