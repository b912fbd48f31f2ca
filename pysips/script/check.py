"""``pysips check FILE...``: lint routing scripts like ``opensips -C``, but reporting every problem at once.

Each file is parsed (syntax errors, 1.x syntax warnings) and, when the syntax is clean, compiled (unknown or
unimplemented functions, arity, parameter kinds, route types, undefined routes, PVs...). Diagnostics print as
``file:line:col: error|warning: message`` with the source line, a caret and a hint. Exit status: 0 when no
file has errors (warnings are fine), 1 when some file has errors, 2 on usage errors (a missing file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from pysips.errors import ScriptError
from pysips.script.parser import parse_file


def _generation_label(gen: int, forced: bool) -> str:
    return f"OpenSIPS {gen}.x ({'--opensips-version' if forced else 'detected'})"


@dataclass(slots=True)
class CheckResult:
    """What ``pysips check`` learnt about one file. ``unimplemented`` is the compiled Program's
    ``{"modules": [...], "functions": {name: module}}`` (empty when the syntax has errors: nothing was compiled)."""

    path: str
    generation: int
    diagnostics: list[ScriptError]
    unimplemented: dict[str, Any] = field(default_factory=lambda: {"modules": [], "functions": {}})

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")


def check_script(path: str, generation: int | None = None) -> CheckResult:
    """Parse and (when the syntax is clean) compile one script."""
    script, diags = parse_file(path, generation=generation)
    result = CheckResult(path, script.generation, list(diags))
    if not any(d.severity == "error" for d in diags):
        from pysips.script.compiler import compile_script

        program, semantic = compile_script(script)
        result.diagnostics.extend(semantic)
        from pysips.b2b.scenario_xml import check_scenarios

        result.diagnostics.extend(check_scenarios(script))
        result.unimplemented = program.unimplemented
    return result


def check_file(path: str, generation: int | None = None) -> tuple[int, list[ScriptError]]:
    """Parse and (when the syntax is clean) compile one script; returns (generation, diagnostics)."""
    r = check_script(path, generation)
    return r.generation, r.diagnostics


def _unimpl_json(mods: list[str], funcs: dict[str, str]) -> dict[str, Any]:
    # "functions" stays a sorted name list (the first JSON format); "function_modules" says where each comes from
    return {
        "modules": sorted(mods),
        "functions": sorted(funcs),
        "function_modules": dict(sorted(funcs.items())),
    }


def _diag_json(d: ScriptError) -> dict[str, Any]:
    return {
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "hint": d.hint,
    }


def _signature(spec: Any) -> str:
    parts = []
    for p in spec.params:
        label = p.name or p.kind
        parts.append(f"[{label}]" if p.optional else label)
    return f"{spec.name}({', '.join(parts)})"


def list_functions(out: TextIO) -> int:
    from pysips.modules import load_registry

    registry = load_registry()
    for mname in sorted(registry, key=lambda n: (n != "core", n)):
        spec = registry[mname]
        seen: dict[int, Any] = {}
        for f in spec.functions.values():
            seen.setdefault(id(f), f)
        print(f"{mname}:", file=out)
        for f in sorted(seen.values(), key=lambda f: f.name):
            extra = []
            if f.aliases:
                extra.append("aliases: " + ", ".join(f.aliases))
            if f.impl is None:
                extra.append("declared, not implemented")
            suffix = f"  ({'; '.join(extra)})" if extra else ""
            print(f"  {_signature(f)}{suffix}", file=out)
    return 0


def check_main(args: argparse.Namespace) -> int:
    out = sys.stdout
    if getattr(args, "list_functions", False):
        return list_functions(out)
    files: list[str] = list(getattr(args, "files", None) or [])
    fmt = getattr(args, "format", "text") or "text"
    forced = getattr(args, "opensips_version", None)
    generation = int(forced) if forced else None
    missing = [f for f in files if not os.path.isfile(f)]
    if not files or missing:
        for f in missing:
            print(f"pysips check: {f}: no such file", file=sys.stderr)
        if not files:
            print("pysips check: no file given", file=sys.stderr)
        return 2

    report: list[dict[str, Any]] = []
    nerr = nwarn = 0
    all_mods: set[str] = set()
    all_funcs: dict[str, str] = {}
    for path in files:
        res = check_script(path, generation)
        diags = res.diagnostics
        e = res.errors
        nerr += e
        nwarn += len(diags) - e
        mods = list(res.unimplemented["modules"])
        funcs = dict(res.unimplemented["functions"])
        all_mods.update(mods)
        all_funcs.update(funcs)
        if fmt == "json":
            report.append(
                {
                    "path": path,
                    "generation": res.generation,
                    "diagnostics": [_diag_json(d) for d in diags],
                    "unimplemented": _unimpl_json(mods, funcs),
                }
            )
            continue
        for d in diags:
            print(d.format(), file=out)
        print(f"{path}: syntax: {_generation_label(res.generation, generation is not None)}", file=out)

    if fmt == "json":
        doc = {
            "files": report,
            "errors": nerr,
            "warnings": nwarn,
            "unimplemented": _unimpl_json(sorted(all_mods), all_funcs),
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        print(
            f"{nerr} error{'s' if nerr != 1 else ''}, {nwarn} warning{'s' if nwarn != 1 else ''}; "
            f"unimplemented: modules [{', '.join(sorted(all_mods))}], functions [{', '.join(sorted(all_funcs))}]",
            file=out,
        )
    return 1 if nerr else 0
