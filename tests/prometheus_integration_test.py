"""A real Prometheus scrapes a real inferd.

Starts inferd on the test models (gRPC and metrics on free ports), sends a
known number of ModelInfer calls (valid, invalid, unknown model), checks the
exposition with `promtool check metrics`, starts Debian's prometheus on
loopback with a temporary config that scrapes inferd every second, and checks
through Prometheus's HTTP API that the counters equal what was sent and that
histogram_quantile over the duration buckets gives a plausible value. Finally
runs tests/deploy_config_test.sh against the live exposition.

Usage: prometheus_integration_test.py BUILD_DIR TEST_MODELS_DIR
Exit 0 pass, 1 fail, 77 skipped (prometheus or promtool not installed).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

SENT = {"ok": 20, "invalid": 5, "unknown": 3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout_s=60):
    """Polls `check` (an external process's state) until it returns a value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def query(prom: str, expr: str):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        body = json.loads(http_get(url))
    except OSError:
        return None
    result = body.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


def start_inferd(build, models, tmp):
    log = open(os.path.join(tmp, "inferd.log"), "w+")
    proc = subprocess.Popen(
        [os.path.join(build, "bin", "inferd"),
         f"--model-repository={models}/good", "--grpc-port=0", "--http-port=0",
         "--metrics-port=0"], stderr=log)

    def ports():
        log.seek(0)
        text = log.read()
        grpc_port = re.search(r"listening for gRPC on 127\.0\.0\.1:(\d+)", text)
        metrics_port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)", text)
        if proc.poll() is not None:
            raise AssertionError("inferd exited:\n" + text)
        if grpc_port and metrics_port:
            return int(grpc_port.group(1)), int(metrics_port.group(1))
        return None
    return proc, wait_for("inferd to listen", ports)


def start_prometheus(prometheus, metrics_port, tmp):
    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n"
                "scrape_configs:\n  - job_name: inferd\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={config}",
         f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prom.log"), "w"))
    return proc, f"http://127.0.0.1:{port}"


def check(condition, message, failures):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def run(build, models, tmp, prometheus, promtool):
    failures = []
    inferd, (grpc_port, metrics_port) = start_inferd(build, models, tmp)
    prom = None
    try:
        sent = subprocess.run(
            [os.path.join(build, "bin", "send_requests"),
             f"--server=127.0.0.1:{grpc_port}", f"--ok={SENT['ok']}",
             f"--invalid={SENT['invalid']}", f"--unknown={SENT['unknown']}"],
            capture_output=True, text=True)
        check(sent.returncode == 0, "every call got its expected code: "
              + sent.stdout.strip() + sent.stderr.strip(), failures)

        exposition = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        lint = subprocess.run([promtool, "check", "metrics"], input=exposition,
                              capture_output=True, text=True)
        check(lint.returncode == 0,
              "promtool check metrics accepts the exposition "
              + lint.stdout.strip() + lint.stderr.strip(), failures)

        prom_proc, prom = start_prometheus(prometheus, metrics_port, tmp)
        ok = 'inferd_requests_total{code="OK",model="iris",version="1"}'
        got_ok = wait_for("Prometheus to scrape the OK count",
                          lambda: query(prom, ok))
        check(got_ok == SENT["ok"], f"OK calls counted {got_ok}, sent {SENT['ok']}",
              failures)
        invalid = query(prom, 'inferd_requests_total{code="INVALID_ARGUMENT",model="iris"}')
        check(invalid == SENT["invalid"],
              f"INVALID_ARGUMENT counted {invalid}, sent {SENT['invalid']}", failures)
        unknown = query(prom, 'inferd_requests_total{code="NOT_FOUND",model=""}')
        check(unknown == SENT["unknown"],
              f"NOT_FOUND (unknown model) counted {unknown}, sent {SENT['unknown']}",
              failures)
        rows = query(prom, 'inferd_inferences_total{model="iris"}')
        check(rows == SENT["ok"], f"rows inferred {rows}, sent {SENT['ok']}", failures)
        p50 = query(prom, 'histogram_quantile(0.5, sum by (le) '
                          '(inferd_request_duration_seconds_bucket{model="iris",version="1"}))')
        check(p50 is not None and 0 < p50 < 1.0,
              f"median request duration from the buckets is plausible: {p50} s",
              failures)
        ready = query(prom, 'inferd_model_ready{model="iris",version="1"}')
        check(ready == 1, f"iris version 1 reported ready: {ready}", failures)
        up = query(prom, 'up{job="inferd"}')
        check(up == 1, f"scrape target up: {up}", failures)

        deploy = subprocess.run(
            [os.path.join(os.path.dirname(__file__), "deploy_config_test.sh"),
             f"http://127.0.0.1:{metrics_port}/metrics"],
            capture_output=True, text=True)
        check(deploy.returncode == 0, "dashboard and rules name only exported "
              "metrics\n" + deploy.stdout[-2000:] + deploy.stderr[-2000:], failures)
    finally:
        for proc in (inferd, prom_proc if prom else None):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return failures


def main():
    build, models = sys.argv[1], sys.argv[2]
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("SKIP: Debian's prometheus (prometheus, promtool) is not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        failures = run(build, models, tmp, prometheus, promtool)
    print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
