#!/bin/sh
# Checks the monitoring configuration under deploy/:
#   tests/deploy_config_test.sh [METRICS_URL]
#
# (a) promtool check config / check rules / test rules on deploy/prometheus/.
# (b) Every metric name used by the rules (alerts.yml, and the series and
#     expressions of alerts_test.yml) and by the Grafana dashboard (every
#     "expr", and the template variables' label_values()) must be one inferd
#     exports (deploy/metric_names.txt; histograms only through
#     _bucket/_sum/_count), a recording rule defined in alerts.yml, or `up`
#     (written by Prometheus).
#     With METRICS_URL (e.g. http://127.0.0.1:8002/metrics) each of those
#     names must also appear in the server's real exposition; run it against
#     a server that has loaded a model and answered a request, so that the
#     labelled series exist.
#
# Exit status: 0 pass, 1 fail (also when the project's Python is missing),
# 77 promtool (Debian package `prometheus`) not installed (CTest: skipped).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
prom_dir=$root/deploy/prometheus
dashboard=$root/deploy/grafana/inferd-dashboard.json
url=${1:-}

promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$promtool" ]; then
  echo "deploy_config_test: SKIP: promtool not found; install it with" \
    "'apt-get install --no-install-recommends prometheus' (or set PROMTOOL)"
  exit 77
fi
# The project's Python: $INFERD_PYTHON (CTest sets it), else the venv's.
python=${INFERD_PYTHON:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}
if [ ! -x "$python" ]; then
  echo "deploy_config_test: FAIL: $python missing; run scripts/bootstrap.sh"
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

status=0
step() {
  echo "+ $*"
  if ! "$@"; then
    echo "deploy_config_test: FAIL: $*"
    status=1
  fi
}

# (a) promtool. rule_files paths are relative to the file naming them.
step "$promtool" check config "$prom_dir/prometheus.yml"
step "$promtool" check rules "$prom_dir/alerts.yml"
step "$promtool" test rules "$prom_dir/alerts_test.yml"

# (b) metric names.
exposition=
if [ -n "$url" ]; then
  exposition=$tmp/exposition
  echo "+ fetch $url"
  fetch() {
    if command -v curl >/dev/null 2>&1; then
      curl -sS --fail --max-time 10 "$url"
    else
      "$python" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$url"
    fi
  }
  if ! fetch >"$exposition" || [ ! -s "$exposition" ]; then
    echo "deploy_config_test: FAIL: nothing fetched from $url"
    exit 1
  fi
fi

echo "+ check metric names"
"$python" - "$prom_dir/alerts.yml" "$prom_dir/alerts_test.yml" "$dashboard" \
  "$exposition" "$tmp/dashboard_rules.yml" "$root/deploy/metric_names.txt" \
  <<'EOF' || status=1
import json
import re
import sys

# What inferd exports (name -> type): deploy/metric_names.txt, shared with
# tests/deploy_manifests_test.sh.
EXPORTED = {}
for raw in open(sys.argv[6], encoding="utf-8"):
    fields = raw.split("#", 1)[0].split()
    if fields:
        EXPORTED[fields[0]] = fields[1]
# Series Prometheus writes itself for every target; never in an exposition.
SYNTHETIC = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

rules_path, tests_path, dashboard_path, exposition_path, dashboard_rules = sys.argv[1:6]
errors = []
dashboard_exprs = []   # for promtool to parse, below


# --- YAML: just enough for our own files (no PyYAML on a bare Debian) ------
KEY = re.compile(r"^(\s*)(-\s+)?([A-Za-z_]+):(?:\s+(.*?))?\s*$")


def yaml_scalars(path, keys):
    """Yields (line number, key, value) for every `key: value` with key in
    keys: plain or quoted single-line scalars, or block scalars (| or >)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = KEY.match(lines[i])
        i += 1
        if not m or m.group(3) not in keys:
            continue
        indent = len(m.group(1)) + len(m.group(2) or "")
        value = m.group(4) or ""
        start = i
        if re.fullmatch(r"[|>][-+]?[0-9]?", value):
            body = []
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            value = "\n".join(body)
        else:
            if i < len(lines) and lines[i].strip() and \
                    len(lines[i]) - len(lines[i].lstrip()) > indent and \
                    not KEY.match(lines[i]):
                errors.append(f"{path}:{start}: {m.group(3)} spans lines without "
                              "| or >; this check cannot read it")
            if value.startswith("'") and value.endswith("'") and len(value) > 1:
                value = value[1:-1].replace("''", "'")
            elif value.startswith('"') and value.endswith('"') and len(value) > 1:
                value = json.loads(value)
            else:
                value = re.sub(r"\s+#.*$", "", value)
        yield start, m.group(3), value


# --- PromQL: metric names in an expression ----------------------------------
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring",
            "group_left", "group_right", "bool", "offset", "inf", "nan"}
TOKEN = re.compile(r"\$\{[^}]*\}|\$\w+|[A-Za-z_:][A-Za-z0-9_:]*|\d[\w.]*|\S")


def metric_names(expr):
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    s = re.sub(r"#[^\n]*", " ", s)                 # comments
    s = re.sub(r"\{[^{}]*\}", " ", s)              # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)              # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", s)                             # label lists
    names = []
    for m in TOKEN.finditer(s):
        tok = m.group(0)
        if not re.match(r"[A-Za-z_:]", tok) or tok.lower() in KEYWORDS:
            continue
        if s[m.end():].lstrip().startswith("("):   # function or aggregation
            continue
        names.append(tok)
    return names


# --- collect -----------------------------------------------------------------
uses = []        # (where, metric name)
records = set()
n_exprs = 0

rule_name = None
n_rules = n_rule_exprs = 0
for line, key, value in yaml_scalars(rules_path, {"record", "alert", "expr"}):
    if key in ("record", "alert"):
        rule_name = f"{key} {value}"
        n_rules += 1
        if key == "record":
            records.add(value)
            if value.count(":") != 2:
                errors.append(f"{rules_path}:{line}: recording rule {value} is not "
                              "named level:metric:operations")
        continue
    n_rule_exprs += 1
    n_exprs += 1
    for name in metric_names(value):
        uses.append((f"alerts.yml:{line} ({rule_name})", name))
if n_rules == 0 or n_rules != n_rule_exprs:
    errors.append(f"{rules_path}: read {n_rules} rules but {n_rule_exprs} "
                  "expressions; this check cannot read the file")

for line, key, value in yaml_scalars(tests_path, {"series", "expr"}):
    n_exprs += 1
    for name in metric_names(value):
        uses.append((f"alerts_test.yml:{line} ({key})", name))

dashboard = json.load(open(dashboard_path, encoding="utf-8"))


def walk(node, path):
    global n_exprs
    if isinstance(node, dict):
        title = node.get("title") or node.get("name") or ""
        here = f"{path}/{title}" if title else path
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                n_exprs += 1
                dashboard_exprs.append(value)
                for name in metric_names(value):
                    uses.append((f"dashboard {here} (expr)", name))
            else:
                walk(value, here)
    elif isinstance(node, list):
        for item in node:
            walk(item, path)


walk(dashboard, "")

ds_vars = []
for var in dashboard.get("templating", {}).get("list", []):
    if var.get("type") == "datasource":
        ds_vars.append(var.get("name"))
    if var.get("type") != "query":
        continue
    query = var.get("query")
    if isinstance(query, dict):
        query = query.get("query", "")
    query = query or ""
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query, re.S) or \
        re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
    if m:
        n_exprs += 1
        dashboard_exprs.append(m.group(1))
        for name in metric_names(m.group(1)):
            uses.append((f"dashboard variable ${var.get('name')}", name))
    elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", query):
        errors.append(f"dashboard variable ${var.get('name')}: cannot read query {query!r}")

# The dashboard stays importable into any Grafana: every data source is the
# DS_PROMETHEUS variable (or Grafana's own, for the built-in annotations).
if "DS_PROMETHEUS" not in ds_vars:
    errors.append("dashboard: no datasource template variable DS_PROMETHEUS")


def check_datasources(node, path):
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and ds.get("uid") not in ("${DS_PROMETHEUS}", "-- Grafana --"):
            errors.append(f"dashboard {path}: datasource {ds} is not ${{DS_PROMETHEUS}}")
        elif isinstance(ds, str) and ds != "${DS_PROMETHEUS}":
            errors.append(f"dashboard {path}: datasource {ds!r} is not ${{DS_PROMETHEUS}}")
        for key, value in node.items():
            check_datasources(value, f"{path}/{node.get('title', key)}")
    elif isinstance(node, list):
        for item in node:
            check_datasources(item, path)


check_datasources(dashboard, "")
ids = [p.get("id") for p in dashboard.get("panels", [])]
if len(ids) != len(set(ids)) or None in ids:
    errors.append(f"dashboard: panel ids missing or repeated: {ids}")

# --- check names -------------------------------------------------------------
def family(name):
    """The exported family a used name belongs to, or an error string."""
    if name in EXPORTED:
        if EXPORTED[name] == "histogram":
            return None, f"{name} is a histogram: use {name}_bucket, _sum or _count"
        return name, None
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and EXPORTED.get(base) == "histogram":
            return base, None
    return None, f"{name} is not a metric inferd exports"


exported_used = set()
for where, name in uses:
    if name in records or name in SYNTHETIC:
        continue
    if ":" in name:
        errors.append(f"{where}: {name} looks like a recording rule, but alerts.yml "
                      "defines none of that name")
        continue
    base, err = family(name)
    if err:
        errors.append(f"{where}: {err}")
    else:
        exported_used.add(name)

if exposition_path:
    # A family counts as present by its samples or by its # TYPE line (a
    # labelled family may have no series yet).
    present = set()
    families = set()
    for line in open(exposition_path, encoding="utf-8", errors="replace"):
        m = re.match(r"#\s*TYPE\s+([A-Za-z_:][A-Za-z0-9_:]*)\s+(\w+)", line)
        if m:
            families.add(m.group(1))
            present.add(m.group(1))
            if m.group(2) == "histogram":
                present.update(m.group(1) + s for s in HISTOGRAM_SUFFIXES)
            elif m.group(2) == "counter" and not m.group(1).endswith("_total"):
                present.add(m.group(1) + "_total")   # OpenMetrics style
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)[\s{]", line)
        if m:
            present.add(m.group(1))
            families.add(m.group(1))
    for name in sorted(exported_used - present):
        errors.append(f"{name}: used by the rules or the dashboard, but not in the "
                      "server's exposition")
    # Informational: the contract above against what the server says.
    for name in sorted(EXPORTED):
        probe = name + "_bucket" if EXPORTED[name] == "histogram" else name
        if probe not in present:
            print(f"note: {name} is in deploy/metric_names.txt but not in the exposition")
    for name in sorted(n for n in families if n.startswith("inferd_")):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in EXPORTED and base not in EXPORTED:
            print(f"note: the server exports {name}, which deploy/metric_names.txt does not list")

# The dashboard's queries as recording rules, so that promtool parses them
# (Grafana's variables replaced by what they expand to).
with open(dashboard_rules, "w", encoding="utf-8") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, expr in enumerate(dashboard_exprs):
        expr = re.sub(r"\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}",
                      "1m", expr)
        expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
        out.write(f"      - record: dashboard_query_{i}\n        expr: |\n")
        out.write("".join(f"          {line}\n" for line in expr.split("\n")))

if errors:
    for e in errors:
        print(f"deploy_config_test: FAIL: {e}")
    sys.exit(1)
print(f"ok: {len(uses)} metric uses in {n_exprs} expressions, "
      f"{len(exported_used)} exported names, {len(records)} recording rules"
      + (", all in the exposition" if exposition_path else ""))
EOF

# The dashboard's queries must parse as PromQL.
if [ -s "$tmp/dashboard_rules.yml" ]; then
  step "$promtool" check rules "$tmp/dashboard_rules.yml"
fi

if [ "$status" -eq 0 ]; then
  echo "deploy_config_test: PASS"
fi
exit "$status"
