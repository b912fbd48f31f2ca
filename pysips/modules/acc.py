"""acc: log accounting (do_accounting "log", the 1.x-2.1 log flags); other backends and CDRs are declared only."""

from __future__ import annotations

import time
from typing import Any

from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error

# ---------------------------------------------------------------------------------------------- implementation
#
# Log accounting (OpenSIPS acc "log" backend): a transaction marked for accounting writes one line when its final
# reply goes upstream -- "ACC: transaction answered: timestamp=..;method=..;from_tag=..;to_tag=..;call_id=..;
# code=..;reason=.." for a 2xx (and for a failure when it is marked "failed") -- and, when marked "missed", one
# "ACC: call missed: ..." line per branch that ends with a failure. Marking: do_accounting("log", "missed,failed")
# (2.2+), or the 1.x-2.1 flags named by log_flag / log_missed_flag / failed_transaction_flag. The db / aaa / evi
# backends and CDRs ("cdr", which needs dialog) are not built: asking for them is said once and skipped.

FLAG_NAMES = ("cdr", "missed", "failed")
_acc: dict[str, Any] = {"level": 2, "flags": {}, "said": set()}


def init(params: dict[str, Any]) -> None:
    """Script load: log level and the 1.x-2.1 accounting flags (flag names resolved as setflag does)."""
    from pysips.modules.core import flag_bit

    level = params.get("log_level")
    _acc["level"] = int(level) if level is not None else 2
    flags: dict[str, int] = {}
    for key in ("log_flag", "log_missed_flag", "failed_transaction_flag"):
        v = params.get(key)
        if v not in (None, 0, "0", ""):
            try:
                flags[key] = int(v) if isinstance(v, int) or str(v).isdigit() else flag_bit(str(v), "msg")
            except (ValueError, TypeError):
                continue
    _acc["flags"] = flags
    _acc["said"] = set()


def _say_once(ctx: Any, what: str) -> None:
    if what not in _acc["said"]:
        _acc["said"].add(what)
        log_error(ctx, f"acc: {what} is not available in pysips; only the log backend writes records")


def w_do_accounting(ctx: Any, types: str, flags: str | None = None, table: str | None = None) -> int:
    wanted = {t.strip().lower() for t in str(types or "").replace("|", ",").split(",") if t.strip()}
    marks = {f.strip().lower() for f in str(flags or "").replace("|", ",").split(",") if f.strip()}
    for t in wanted - {"log"}:
        _say_once(ctx, f"the {t!r} accounting backend")
    if "cdr" in marks:
        _say_once(ctx, "CDR accounting (do_accounting 'cdr')")
    if "log" in wanted:
        ctx.acc_marks = (
            (ctx.__dict__.get("acc_marks") or frozenset()) | {"on"} | (marks & {"missed", "failed"})
        )
    return 1


def w_drop_accounting(ctx: Any, types: str | None = None, flags: str | None = None) -> int:
    ctx.acc_marks = frozenset()
    return 1


def _marks_of(ctx: Any) -> frozenset[str]:
    marks = set(ctx.__dict__.get("acc_marks") or ())
    f = _acc["flags"]
    bits = getattr(ctx, "flags", 0)
    if "log_flag" in f and bits & (1 << f["log_flag"]):
        marks.add("on")
    if "log_missed_flag" in f and bits & (1 << f["log_missed_flag"]):
        marks.add("missed")
    if "failed_transaction_flag" in f and bits & (1 << f["failed_transaction_flag"]):
        marks.add("failed")
    return frozenset(marks)


def _line(core: Any, text: str, req: Any, code: int, reason: str, to_tag: str | None) -> None:
    core.log.log(
        _acc["level"],
        f"ACC: {text}: timestamp={int(time.time())};method={req.method};from_tag={req.from_.tag or ''};"
        f"to_tag={to_tag or ''};call_id={req.call_id};code={code};reason={reason}",
        "acc",
    )


class _Hooks:
    """tm callbacks: copy the marks onto the transaction, log at the final reply / at each failed branch."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def request_out(self, uas: Any, branch: Any, out: Any, ctx: Any) -> None:
        if ctx is None or (uas.ext and "acc" in uas.ext):
            return
        marks = _marks_of(ctx)
        if marks:
            if uas.ext is None:
                uas.ext = {}
            uas.ext["acc"] = marks

    def reply_in(self, branch: Any, resp: Any) -> None:
        uas = branch.uas
        marks = uas.ext.get("acc") if uas is not None and uas.ext else None
        if marks and "missed" in marks and resp.status >= 300:
            _line(self.core, "call missed", uas.req, resp.status, resp.reason, resp.to.tag)

    def reply_out(self, uas: Any, out: Any) -> None:
        marks = uas.ext.get("acc") if uas.ext else None
        if not marks or out.status < 200 or "logged" in marks:
            return
        if out.status < 300 or "failed" in marks:
            uas.ext["acc"] = marks | {"logged"}
            _line(self.core, "transaction answered", uas.req, out.status, out.reason, out.to.tag)


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Hook the tm callbacks before the first message."""
    tm = getattr(core, "tm", None)
    if tm is not None:
        hooks = _Hooks(core)
        tm.register("request_out", hooks.request_out)
        tm.register("reply_in", hooks.reply_in)
        tm.register("reply_out", hooks.reply_out)
    task_status.started()


MODULE = ModuleSpec.build(
    "acc",
    doc="log accounting (transaction answered / call missed); db, aaa, evi backends and CDRs declared only",
    functions=[
        FunctionSpec(
            "acc_log_request",
            (ParamSpec(STR, name="comment"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "acc_db_request",
            (ParamSpec(STR, name="comment"), ParamSpec(STR, name="table")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "acc_aaa_request",
            (ParamSpec(STR, name="comment"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "acc_evi_request",
            (ParamSpec(STR, name="comment"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "do_accounting",
            (
                ParamSpec(STR, name="type"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="table"),
            ),
            w_do_accounting,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "drop_accounting",
            (ParamSpec(STR, optional=True, name="type"), ParamSpec(STR, optional=True, name="flags")),
            w_drop_accounting,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec("acc_new_leg", (), None, frozenset({REQUEST, FAILURE, BRANCH, LOCAL})),
        FunctionSpec("acc_load_ctx_from_dlg", (), None, ALL_ROUTES),
        FunctionSpec("acc_unload_ctx_from_dlg", (), None, ALL_ROUTES),
        FunctionSpec(
            "acc_rad_request", (ParamSpec(ANY),), None, frozenset({REQUEST, FAILURE, BRANCH, LOCAL})
        ),
        FunctionSpec(
            "acc_diam_request", (ParamSpec(ANY),), None, frozenset({REQUEST, FAILURE, BRANCH, LOCAL})
        ),
    ],
    params=[
        ModParamSpec("early_media", INT, 0),
        ModParamSpec("failed_transaction_flag", ANY, 0),
        ModParamSpec("report_ack", INT, 0),
        ModParamSpec("report_cancels", INT, 0),
        ModParamSpec("multi_leg_info", STR),
        ModParamSpec("detect_direction", INT, 0),
        ModParamSpec("log_flag", ANY, 0),
        ModParamSpec("log_missed_flag", ANY, 0),
        ModParamSpec("log_level", INT),
        ModParamSpec("log_facility", STR),
        ModParamSpec("log_extra", STR, "accX_log"),
        ModParamSpec("radius_config", STR),
        ModParamSpec("radius_flag", INT, -1),
        ModParamSpec("radius_missed_flag", INT, -1),
        ModParamSpec("service_type", INT, -1),
        ModParamSpec("radius_extra", STR),
        ModParamSpec("diameter_flag", ANY, 0),
        ModParamSpec("diameter_missed_flag", ANY, 0),
        ModParamSpec("diameter_client_host", STR, "localhost"),
        ModParamSpec("diameter_client_port", INT, 3000),
        ModParamSpec("diameter_extra", STR),
        ModParamSpec("db_flag", ANY, 0),
        ModParamSpec("db_missed_flag", ANY, 0),
        ModParamSpec("db_extra", STR, "accX_db"),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table_acc", STR, "acc"),
        ModParamSpec("db_table_missed_calls", STR, "missed_calls"),
        ModParamSpec("acc_method_column", STR, "method"),
        ModParamSpec("acc_from_tag_column", STR, "from_tag"),
        ModParamSpec("acc_to_tag_column", STR, "to_tag"),
        ModParamSpec("acc_callid_column", STR, "callid"),
        ModParamSpec("acc_sip_code_column", STR, "sip_code"),
        ModParamSpec("acc_sip_reason_column", STR, "sip_reason"),
        ModParamSpec("acc_time_column", STR, "time"),
        ModParamSpec("aaa_url", STR),
        ModParamSpec("aaa_flag", ANY, 0),
        ModParamSpec("aaa_missed_flag", ANY, 0),
        ModParamSpec("aaa_extra", STR, "accX_aaa"),
        ModParamSpec("cdr_flag", ANY, 0),
        ModParamSpec("log_extra_bye", STR),
        ModParamSpec("aaa_extra_bye", STR),
        ModParamSpec("db_extra_bye", STR),
        ModParamSpec("db_table_avp", STR),
        ModParamSpec("multi_leg_bye_info", STR),
        ModParamSpec("evi_flag", STR),
        ModParamSpec("evi_missed_flag", STR),
        ModParamSpec("evi_extra", STR, "accX_evi"),
        ModParamSpec("evi_extra_bye", STR),
        ModParamSpec("acc_created_avp_name", STR, "accX_created"),
        ModParamSpec("extra_fields", STR, None, repeatable=True),
        ModParamSpec("leg_fields", STR, None, repeatable=True),
    ],
)
