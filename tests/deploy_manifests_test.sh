#!/bin/sh
# Checks the deployment files under deploy/: the Dockerfile, the Kubernetes
# manifests and the KServe runtime.
#
# (a) yamllint (deploy/.yamllint, warnings fail) on every YAML file under
#     deploy/kubernetes and deploy/kserve.
# (b) kubernetes-validate --strict, offline, against the Kubernetes versions
#     below, on every file of built-in kinds. Custom resources it has no
#     schema for (PodMonitor, ServingRuntime, InferenceService, and the
#     Kustomization) are named in (d), which checks them; any other kind it
#     does not know fails.
# (c) hadolint on deploy/Dockerfile.
# (d) What the schemas cannot see, across files: the Kustomization lists
#     every manifest; ports, probes and Services agree with the server's
#     flags; the grace period outlasts the drain (preStop sleep, if any, +
#     --drain-notice-secs + the age-out of --grpc-max-connection-age +
#     --exit-timeout-secs); OpenMP's threads follow
#     the CPU limit; the custom resources carry the keys that their
#     controllers need and point at each other; every metric name the HPA
#     and the prometheus-adapter rule use is one inferd exports
#     (deploy/metric_names.txt, shared with tests/deploy_config_test.sh),
#     and the rule's query parses (promtool, when installed); the
#     Dockerfile's RUN steps call scripts that exist and are executable,
#     among them the README's scripts/bootstrap.sh and scripts/build.sh, and
#     what it COPYs from the repository exists.
#
# Exit status: 0 pass, 1 fail, 77 when a tool is missing from the project's
# venv (pip install -r requirements.txt installs them).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.venv/bin
# The oldest Kubernetes these manifests claim, and the newest schema
# kubernetes-validate bundles.
k8s_versions="1.30.0 1.37.0"

for tool in python yamllint kubernetes-validate hadolint; do
  if [ ! -x "$bin/$tool" ]; then
    echo "deploy_manifests_test: SKIP: $bin/$tool missing; install" \
      "requirements.txt into .venv (scripts/bootstrap.sh)"
    exit 77
  fi
done
if ! "$bin/python" -c 'import yaml' 2>/dev/null; then
  echo "deploy_manifests_test: SKIP: PyYAML missing from .venv"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

status=0
fail() {
  echo "deploy_manifests_test: FAIL: $*"
  status=1
}

# (a)
echo "+ yamllint"
"$bin/yamllint" --strict -c "$root/deploy/.yamllint" \
  "$root/deploy/kubernetes" "$root/deploy/kserve" ||
  fail "yamllint (above)"

# (d), and the list of files for (b) in $tmp/core.
echo "+ check manifests"
K8S_VERSIONS=$k8s_versions "$bin/python" - "$root" "$tmp/core" \
  "$tmp/adapter_rules.yml" <<'EOF' || status=1
import glob
import json
import os
import re
import sys

import kubernetes_validate
import yaml

root, core_list, adapter_rules = sys.argv[1:4]
paths = sorted(os.path.join(d, f)
               for top in ("deploy/kubernetes", "deploy/kserve")
               for d, _, files in os.walk(os.path.join(root, top))
               for f in files if f.endswith((".yaml", ".yml")))
errors = []
rel = lambda p: os.path.relpath(p, root)

# Kinds without a schema in kubernetes-validate: checked here instead.
CUSTOM = {
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("serving.kserve.io/v1alpha1", "ServingRuntime"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
# Not in the Kustomization, on purpose (the file says why).
UNLISTED = {"deploy/kubernetes/prometheus-adapter-config.yaml"}
FLAG_DEFAULTS = {"grpc-port": 8001, "http-port": 8000, "metrics-port": 8002,
                 "drain-notice-secs": 0, "exit-timeout-secs": 30,
                 "grpc-max-connection-age": 0}

docs = {}      # (kind, name) -> (path, document)
core = []
for path in paths:
    kinds = []
    try:
        loaded = list(yaml.safe_load_all(open(path, encoding="utf-8")))
    except yaml.YAMLError as e:
        errors.append(f"{rel(path)}: not YAML: {e}")
        continue
    for doc in loaded:
        if not doc:
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        kinds.append(key in CUSTOM)
        name = (doc.get("metadata") or {}).get("name", "")
        docs[(doc.get("kind"), name)] = (rel(path), doc)
    if any(kinds) and not all(kinds):
        errors.append(f"{rel(path)}: mixes custom and built-in kinds; give the "
                      "custom resources a file of their own")
    elif kinds and not any(kinds):
        core.append(path)
open(core_list, "w").write("".join(p + "\n" for p in core))


def get(doc, dotted, where):
    node = doc
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            errors.append(f"{where}: missing {dotted}")
            return None
    return node


def find(kind):
    found = [v for k, v in docs.items() if k[0] == kind]
    if len(found) != 1:
        errors.append(f"deploy/: expected one {kind}, found {len(found)}")
        return None, {}
    return found[0]


def flags(container, where):
    """The server's --flag=value arguments, with inferd's defaults."""
    values = dict(FLAG_DEFAULTS)
    for arg in container.get("args") or []:
        m = re.fullmatch(r"--?([\w-]+)=(.*)", str(arg))
        if m:
            values[m.group(1).replace("_", "-")] = m.group(2)
    for key in FLAG_DEFAULTS:
        try:
            values[key] = int(values[key])
        except ValueError:
            errors.append(f"{where}: --{key}={values[key]} is not a number")
            values[key] = FLAG_DEFAULTS[key]
    return values


def check_drain(where, grace, f, pre_stop_secs=0):
    # inferd's age-out step: 1.1 x --grpc-max-connection-age (ms) + 0.5 s.
    age = f["grpc-max-connection-age"]
    age_out = age * 1.1 / 1000 + 0.5 if age > 0 else 0
    need = (pre_stop_secs + f["drain-notice-secs"] + age_out +
            f["exit-timeout-secs"])
    if grace is None or int(grace) <= need:
        errors.append(f"{where}: terminationGracePeriodSeconds {grace} must exceed "
                      f"preStop {pre_stop_secs} s + --drain-notice-secs "
                      f"{f['drain-notice-secs']} + the connections' age-out "
                      f"{age_out:g} + --exit-timeout-secs "
                      f"{f['exit-timeout-secs']} = {need:g}, or SIGKILL cuts "
                      f"calls off")


# --- Kustomization -----------------------------------------------------------
kpath, kust = find("Kustomization")
if kust:
    listed = {os.path.normpath(os.path.join("deploy/kubernetes", r))
              for r in kust.get("resources") or []}
    for r in sorted(listed):
        if not os.path.isfile(os.path.join(root, r)):
            errors.append(f"{kpath}: resource {r} does not exist")
    for path in paths:
        r = rel(path)
        if r.startswith("deploy/kubernetes/") and r != kpath and \
                r not in listed and r not in UNLISTED:
            errors.append(f"{kpath}: {r} is not in resources")

# --- Deployment --------------------------------------------------------------
dpath, deploy = find("Deployment")
pod_labels = {}
if deploy:
    pod = get(deploy, "spec.template.spec", dpath) or {}
    pod_labels = get(deploy, "spec.template.metadata.labels", dpath) or {}
    c = (pod.get("containers") or [{}])[0]
    f = flags(c, dpath)
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    for name, flag in (("http", "http-port"), ("grpc", "grpc-port"),
                       ("metrics", "metrics-port")):
        if ports.get(name) != f[flag]:
            errors.append(f"{dpath}: container port {name!r} is {ports.get(name)}, "
                          f"but --{flag} is {f[flag]}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        port = ((c.get(probe) or {}).get("grpc") or {}).get("port")
        if port != f["grpc-port"]:
            errors.append(f"{dpath}: {probe} is not a gRPC probe on --grpc-port "
                          f"{f['grpc-port']} (got {port})")
    pre_stop = ((c.get("lifecycle") or {}).get("preStop") or {})
    sleep = (pre_stop.get("sleep") or {}).get("seconds", 0)
    command = (pre_stop.get("exec") or {}).get("command") or []
    if command[:1] == ["sleep"] and len(command) == 2:
        sleep = int(command[1])
    check_drain(dpath, pod.get("terminationGracePeriodSeconds"), f, int(sleep))
    env = {e.get("name"): e for e in c.get("env") or []}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        ref = ((env.get(var) or {}).get("valueFrom") or {}).get("resourceFieldRef") or {}
        if ref.get("resource") != "limits.cpu":
            errors.append(f"{dpath}: {var} must come from resourceFieldRef limits.cpu")
    if not ((c.get("resources") or {}).get("limits") or {}).get("cpu"):
        errors.append(f"{dpath}: no CPU limit: the worker pool and OMP_NUM_THREADS "
                      "would follow the node's CPUs")
    if "--model-repository=/models" not in (c.get("args") or []):
        errors.append(f"{dpath}: the repository must be --model-repository=/models")
    for (kind, name), (spath, svc) in docs.items():
        if kind != "Service":
            continue
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            errors.append(f"{spath}: Service {name} selects {selector}, not the pods")
        for p in (svc.get("spec") or {}).get("ports") or []:
            if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                errors.append(f"{spath}: Service {name} targets port "
                              f"{p.get('targetPort')!r}, which the container lacks")

# --- PodMonitor ----------------------------------------------------------------
mpath, monitor = find("PodMonitor")
if monitor and deploy:
    labels = get(monitor, "spec.selector.matchLabels", mpath) or {}
    if not labels or any(pod_labels.get(k) != v for k, v in labels.items()):
        errors.append(f"{mpath}: selector {labels} does not match the Deployment's pods")
    for ep in get(monitor, "spec.podMetricsEndpoints", mpath) or []:
        if ports.get(ep.get("port")) != f["metrics-port"]:
            errors.append(f"{mpath}: scrapes port {ep.get('port')!r}, not the "
                          f"container's metrics port {f['metrics-port']}")
        if ep.get("path", "/metrics") != "/metrics":
            errors.append(f"{mpath}: path {ep.get('path')}, inferd serves /metrics")

# --- metric names: HPA and prometheus-adapter rule -------------------------------
exported = {}
for line in open(os.path.join(root, "deploy/metric_names.txt"), encoding="utf-8"):
    fields = line.split("#", 1)[0].split()
    if fields:
        exported[fields[0]] = fields[1]


def check_metric(where, name):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if base != name and exported.get(base) == "histogram":
        return
    if exported.get(name) is None:
        errors.append(f"{where}: {name} is not a metric inferd exports "
                      "(deploy/metric_names.txt)")
    elif exported[name] == "histogram":
        errors.append(f"{where}: {name} is a histogram: use _bucket, _sum or _count")


served = {}    # custom metric name -> where the rule is
apath, adapter = find("ConfigMap")
if adapter:
    config = yaml.safe_load((get(adapter, "data", apath) or {}).get("config.yaml", "")) or {}
    rules = config.get("rules") or []
    if not rules:
        errors.append(f"{apath}: config.yaml has no rules")
    with open(adapter_rules, "w", encoding="utf-8") as out:
        out.write("groups:\n  - name: adapter\n    rules:\n")
        for i, rule in enumerate(rules):
            where = f"{apath} rules[{i}]"
            m = re.match(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)", rule.get("seriesQuery", ""))
            if not m:
                errors.append(f"{where}: seriesQuery names no metric")
                continue
            check_metric(f"{where} seriesQuery", m.group(1))
            for label in ("namespace", "pod"):
                res = ((rule.get("resources") or {}).get("overrides") or {}).get(label)
                if (res or {}).get("resource") != label:
                    errors.append(f"{where}: label {label} is not mapped to resource "
                                  f"{label}; the HPA cannot find per-pod values")
            series = m.group(1)
            served[(rule.get("name") or {}).get("as") or series] = where
            query = (rule.get("metricsQuery") or "") \
                .replace("<<.Series>>", series) \
                .replace("<<.LabelMatchers>>", 'namespace="default",pod=~"a|b"') \
                .replace("<<.GroupBy>>", "pod")
            if "<<" in query:
                errors.append(f"{where}: metricsQuery uses a template this check "
                              "does not know")
            out.write(f"      - record: adapter_rule_{i}\n"
                      f"        expr: {json.dumps(query)}\n")
hpath, hpa = find("HorizontalPodAutoscaler")
if hpa:
    target = get(hpa, "spec.scaleTargetRef", hpath) or {}
    if deploy and (target.get("kind"), target.get("name")) != \
            ("Deployment", deploy["metadata"]["name"]):
        errors.append(f"{hpath}: scales {target}, not the Deployment")
    for i, metric in enumerate(get(hpa, "spec.metrics", hpath) or []):
        kind = metric.get("type", "")
        if kind == "Resource":
            continue
        spec = metric.get(kind[:1].lower() + kind[1:]) or {}
        name = (spec.get("metric") or {}).get("name")
        if name not in served:
            errors.append(f"{hpath}: metrics[{i}] {name} is served by no "
                          f"prometheus-adapter rule ({apath})")

# --- KServe ------------------------------------------------------------------------
rpath, runtime = find("ServingRuntime")
ipath, isvc = find("InferenceService")
if runtime:
    formats = {m.get("name") for m in get(runtime, "spec.supportedModelFormats", rpath) or []}
    protocols = set(get(runtime, "spec.protocolVersions", rpath) or [])
    if not {"v2", "grpc-v2"} <= protocols:
        errors.append(f"{rpath}: protocolVersions must list v2 and grpc-v2")
    c = (get(runtime, "spec.containers", rpath) or [{}])[0]
    if c.get("name") != "kserve-container":
        errors.append(f"{rpath}: KServe runs the container named kserve-container, "
                      f"not {c.get('name')!r}")
    # The container is a core/v1 Container: its schema applies.
    for version in os.environ["K8S_VERSIONS"].split():
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runtime"},
               "spec": {"containers": runtime["spec"].get("containers") or []}}
        try:
            kubernetes_validate.validate(pod, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{rpath}: against Kubernetes {version}: {path}: {e.message}")
    if "--model-repository=/mnt/models" not in (c.get("args") or []):
        errors.append(f"{rpath}: KServe mounts the model at /mnt/models; args lack "
                      "--model-repository=/mnt/models")
    rf = flags(c, rpath)
    first = (c.get("ports") or [{}])[0]
    if (first.get("name"), first.get("containerPort")) != ("h2c", rf["grpc-port"]):
        errors.append(f"{rpath}: the first port (the one KServe routes to) must be "
                      f"h2c on --grpc-port {rf['grpc-port']}, got {first}")
    if isvc:
        model = get(isvc, "spec.predictor.model", ipath) or {}
        if model.get("runtime") != runtime["metadata"]["name"]:
            errors.append(f"{ipath}: runtime {model.get('runtime')!r} is not "
                          f"{runtime['metadata']['name']!r} ({rpath})")
        if (model.get("modelFormat") or {}).get("name") not in formats:
            errors.append(f"{ipath}: modelFormat is not one of {sorted(formats)}")
        if model.get("protocolVersion", "v1") not in protocols:
            errors.append(f"{ipath}: protocolVersion {model.get('protocolVersion')} "
                          f"is not one of {sorted(protocols)}")
        if not model.get("storageUri"):
            errors.append(f"{ipath}: no storageUri")
        predictor = (isvc.get("spec") or {}).get("predictor") or {}
        check_drain(ipath, predictor.get("terminationGracePeriodSeconds", 30), rf)

# --- Dockerfile RUN steps ----------------------------------------------------------
dockerfile = os.path.join(root, "deploy/Dockerfile")
text = re.sub(r"\\\n", " ", open(dockerfile, encoding="utf-8").read())
runs = [l for l in text.split("\n") if re.match(r"\s*RUN\s", l)]
called = set()
for line in runs:
    for script in re.findall(r"(?:^|[\s;&|(])(?:\./)?((?:scripts|deploy|tools|tests)/[\w./-]+)",
                             line):
        called.add(script)
        path = os.path.join(root, script)
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            errors.append(f"deploy/Dockerfile: RUN calls {script}, which is not an "
                          "executable file in the repository")
for line in text.split("\n"):
    words = line.split()
    if words[:1] != ["COPY"] or any(w.startswith("--from") for w in words):
        continue
    for source in (w for w in words[1:-1] if not w.startswith("--")):
        if not glob.glob(os.path.join(root, source)):
            errors.append(f"deploy/Dockerfile: COPY {source}: not in the repository")
for script in ("scripts/bootstrap.sh", "scripts/build.sh"):
    if script not in called:
        errors.append(f"deploy/Dockerfile: no RUN step calls {script} (the README's "
                      "build steps, which the test suite covers)")

for e in errors:
    print(f"deploy_manifests_test: FAIL: {e}")
if not errors:
    print(f"ok: {len(docs)} resources in {len(paths)} files; {len(core)} files "
          f"of built-in kinds for kubernetes-validate")
sys.exit(1 if errors else 0)
EOF

# (b)
if ! grep -q . "$tmp/core" 2>/dev/null; then
  fail "no manifests of built-in kinds to validate"
else
  for v in $k8s_versions; do
    echo "+ kubernetes-validate --strict -k $v"
    tr '\n' '\0' <"$tmp/core" |
      xargs -0 "$bin/kubernetes-validate" --strict --quiet -k "$v" \
      >"$tmp/validate.out" 2>&1
    rc=$?
    cat "$tmp/validate.out"
    if [ "$rc" -ne 0 ] || grep -q . "$tmp/validate.out"; then
      fail "kubernetes-validate against Kubernetes $v (above; a WARN is a kind" \
        "it has no schema for: name it in CUSTOM and check it there)"
    fi
  done
fi

# (c)
echo "+ hadolint"
"$bin/hadolint" --no-color "$root/deploy/Dockerfile" || fail "hadolint deploy/Dockerfile (above)"

# The adapter rule's query, as Prometheus would receive it.
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -s "$tmp/adapter_rules.yml" ]; then
  if [ -n "$promtool" ]; then
    echo "+ promtool check rules (prometheus-adapter metricsQuery)"
    "$promtool" check rules "$tmp/adapter_rules.yml" >"$tmp/promtool.out" 2>&1 ||
      { cat "$tmp/promtool.out"; fail "deploy/kubernetes/prometheus-adapter-config.yaml:" \
        "metricsQuery does not parse (above)"; }
  else
    echo "note: promtool not found; the adapter's metricsQuery was not parsed"
  fi
fi

if [ "$status" -eq 0 ]; then
  echo "deploy_manifests_test: PASS"
fi
exit "$status"
