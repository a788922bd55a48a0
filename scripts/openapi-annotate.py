#!/usr/bin/env python3
"""Adds a `#[utoipa::path]` annotation to every route handler that lacks one,
and keeps each module's `OpenApi` list (`pub(crate) struct Api`) in step.

Routes are found where they are registered: `ApiRouter` calls
(`.get("/api/v1/…", Access::…, handler)`) and axum `.route("/…", get(h))`.
The annotation carries the method, path, path parameters, a tag and the
common responses; summaries come from the handler's doc comment. Security
and the permission each route needs are filled in from the RBAC route table
at run time (`backend/src/openapi.rs`), so they cannot drift.

Idempotent: run it after adding routes (`python3 scripts/openapi-annotate.py`),
then review the diff. The OpenAPI test fails when a registered route is
missing from the document.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "backend" / "src"

TAGS = {
    "agents": "Agent API",
    "auth/mod.rs": "Sign-in and sessions",
    "auth/tfa.rs": "Two-factor authentication",
    "auth/oidc.rs": "Single sign-on",
    "auth/audit.rs": "Audit log",
    "users": "Users",
    "rbac": "Roles and permissions",
    "tokens": "Integration tokens",
    "enroll": "Auto-enrollment",
    "public_api/gethomepage.rs": "GetHomepage",
    "public_api": "Integration API",
    "health.rs": "Health",
    "install": "Agent installation",
    "fleet": "Fleet",
    "queue": "Queue",
    "alerts": "Alerts",
    "notify": "Notifications",
}

REG_API = re.compile(
    r'\.(get|post|put|patch|delete)\(\s*"(/[^"]*)",\s*([^,]+?),\s*([\w:]+),?\s*\)', re.S
)
REG_AXUM = re.compile(r'\.route\(\s*"(/[^"]*)",\s*(.*?)\n\s*\)?\s*(?=\.route|\.merge|\.layer|\.with_state|\n\})', re.S)
METHOD_CALL = re.compile(r'\b(get|post|put|patch|delete)\(\s*([\w:]+)\s*\)')
AXUM_ROUTING = re.compile(r'(?:axum::routing::)?\b(get|post|put|patch|delete)\(([\w:]+)\)')


def tag_for(rel):
    for key in sorted(TAGS, key=len, reverse=True):
        if rel.startswith(key) or rel == key:
            return TAGS[key]
    return "Other"


def module_file(base_file, handler):
    """The file defining `handler` (`api::ping` relative to base_file's module)."""
    parts = handler.split("::")
    name = parts[-1]
    mods = parts[:-1]
    if mods and mods[0] == "crate":
        d = ROOT
        mods = mods[1:]
    else:
        d = base_file.parent if base_file.name in ("mod.rs", "lib.rs") else base_file.with_suffix("")
    for m in mods:
        d = d / m
    candidates = [d.with_suffix(".rs"), d / "mod.rs"] if mods else [base_file]
    for c in candidates:
        if c.exists():
            return c, name
    return None, name


def find_routes(path):
    text = path.read_text()
    routes = []
    for m in REG_API.finditer(text):
        method, p, _access, handler = m.groups()
        routes.append((method, p, handler))
    # axum .route("path", get(h).layer(..)) possibly with several methods
    for m in re.finditer(r'\.route\(\s*"(/[^"]*)",', text):
        start = m.end()
        depth = 1
        i = start
        while i < len(text) and depth:
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
            i += 1
        body = text[start:i - 1]
        for mm in AXUM_ROUTING.finditer(body):
            routes.append((mm.group(1), m.group(1), mm.group(2)))
    return routes


def annotate(fn_file, name, method, path, tag):
    text = fn_file.read_text()
    fn_re = re.compile(r'(?m)^(?P<indent>[ \t]*)(?P<vis>pub(?:\([^)]*\))? )?async fn ' + re.escape(name) + r'\b')
    m = fn_re.search(text)
    if not m:
        print(f"  ! handler {name} not found in {fn_file}", file=sys.stderr)
        return False
    # Attributes and docs directly above the fn: everything since the end of
    # the previous item (a line that is "}" or ends with ";").
    head = text[: m.start()]
    prev = max(head.rfind("\n}\n"), head.rfind(";\n"))
    if "#[utoipa::path" in head[prev + 1 :]:
        return True
    params = re.findall(r"\{(\w+)\}", path)
    p_attr = ""
    if params:
        p_attr = ",\n    params(" + ", ".join(
            f'("{p}" = String, Path, description = "{p.replace("_", " ")}")' for p in params
        ) + ")"
    attr = (
        f'#[utoipa::path(\n    {method},\n    path = "{path}",\n    tag = "{tag}"{p_attr},\n'
        f'    responses(\n        (status = "2XX", description = "Success"),\n'
        f'        (status = "4XX", description = "Refused; `{{\\"error\\": …, \\"code\\": …}}`", body = crate::openapi::ErrorBody)\n    )\n)]\n'
    )
    indent = m.group("indent")
    attr = "".join(indent + l + "\n" if l else "\n" for l in attr.rstrip("\n").split("\n"))
    text = text[: m.start()] + attr + text[m.start():]
    fn_file.write_text(text)
    return True


def update_api_struct(fn_file, names):
    text = fn_file.read_text()
    existing = re.search(r"#\[openapi\(paths\(([^)]*)\)\)\]\npub\(crate\) struct Api;", text)
    have = []
    if existing:
        have = [n.strip() for n in existing.group(1).split(",") if n.strip()]
    allnames = have + [n for n in names if n not in have]
    block = (
        "/// The OpenAPI description of this module's routes (`crate::openapi`).\n"
        "#[derive(utoipa::OpenApi)]\n"
        f"#[openapi(paths({', '.join(allnames)}))]\n"
        "pub(crate) struct Api;\n"
    )
    if existing:
        start = text.rfind("/// The OpenAPI description", 0, existing.start())
        text = text[:start] + block + text[existing.end() + 1:]
    else:
        marker = "\n#[cfg(test)]\nmod tests"
        pos = text.find(marker)
        if pos == -1:
            text = text.rstrip("\n") + "\n\n" + block
        else:
            text = text[:pos] + "\n" + block + text[pos:]
    fn_file.write_text(text)


def main():
    per_file = {}
    for f in sorted(ROOT.rglob("*.rs")):
        if f.name in ("testkit.rs", "openapi.rs") or "bin" in f.parts:
            continue
        for method, path, handler in find_routes(f):
            fn_file, name = module_file(f, handler)
            if fn_file is None:
                print(f"  ! cannot locate {handler} (from {f})", file=sys.stderr)
                continue
            rel = str(fn_file.relative_to(ROOT))
            if annotate(fn_file, name, method, path, tag_for(rel)):
                per_file.setdefault(fn_file, [])
                if name not in per_file[fn_file]:
                    per_file[fn_file].append(name)
    for f, names in per_file.items():
        update_api_struct(f, names)
        print(f"{f.relative_to(ROOT)}: {len(names)} handlers")
    mods = sorted(
        "crate::" + str(f.relative_to(ROOT).with_suffix("")).replace("/mod", "").replace("/", "::")
        for f in per_file
    )
    doc = ROOT / "openapi.rs"
    text = doc.read_text()
    begin = text.index("// @modules-begin")
    begin = text.index("\n", begin) + 1
    end = text.index("        // @modules-end")
    listing = "".join(f"        {m}::Api::openapi(),\n" for m in mods)
    doc.write_text(text[:begin] + listing + text[end:])
    print(f"openapi.rs: {len(mods)} modules")


if __name__ == "__main__":
    main()
