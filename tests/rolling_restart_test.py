"""Three inferd replicas on loopback behind Debian's nginx as the gRPC load
balancer, restarted one at a time (SIGTERM, drain, start again on the same
port) while inferd-bench drives traffic through nginx; counts the requests
that failed and where each failure came from (nginx's access log).

nginx proxies with grpc_pass over HTTP/2 connections it keeps open, and
retries on the next replica what failed before it reached one
(grpc_next_upstream error timeout non_idempotent); it cannot read gRPC
health, so it keeps sending to a draining replica on every connection it
has. gRPC 1.51's server shutdown fails with CANCELLED every call whose
headers it reads after the shutdown began: the calls nginx sent before the
GOAWAY reached it (3 to 11 per run of this test before the fix). inferd's
drain order makes the restart invisible: on SIGTERM it keeps answering for
--drain-notice-secs, then closes its gRPC port (nginx's new connections are
refused and go to the next replica) while the open connections are served
until --grpc-max-connection-age asks each away with a graceful GOAWAY; only
then does the server shut down, with no connection left to race.

The age-out has a race of its own with nginx 1.22: once a connection's
last call is answered after its GOAWAY, the server closes it, and nginx
fails that call ("upstream prematurely closed connection while sending to
client", INTERNAL to the client) if a PING came with the answer that it has
not acknowledged yet. gRPC's bandwidth-delay-product probe sent such PINGs
all the time (3 failed calls in 20 runs on a loaded machine); inferd turns
it off (--grpc-http2-bdp-probe, tests/grpc_connection_test.py). On a failure
this test prints nginx's error log lines that name the cause.

Usage: tests/rolling_restart_test.py BUILD_DIR MODELS_DIR [--replicas N]
    [--seconds S] [--report]
(MODELS_DIR: the test models, build/test_models after a ctest run.) With
--report it also measures throughput through nginx with one replica and with
all of them, and directly against one replica (bench/README.md).
Exit 0 when no request failed, 1 otherwise, 77 when nginx is not installed.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONCURRENCY = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} after {seconds} s")


class Replica:
    def __init__(self, build, repository, port, tmp, index):
        self.build, self.repository, self.port = build, repository, port
        self.log_path = os.path.join(tmp, f"replica{index}.log")
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts}\n")
        log.flush()
        self.proc = subprocess.Popen(
            [f"{self.build}/bin/inferd",
             f"--model-repository={self.repository}",
             f"--grpc-port={self.port}", "--http-port=0", "--metrics-port=0",
             "--drain-notice-secs=1", "--grpc-max-connection-age=1000",
             "--exit-timeout-secs=10"],
            stderr=log)
        marker = f"listening for gRPC on 127.0.0.1:{self.port}"

        def serving():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"replica on {self.port} exited:\n{self.log()}")
            return self.log().count(marker) >= self.starts

        wait_for(f"replica on {self.port} not serving", serving, 120)

    def stop(self):
        """SIGTERM, then waits for the drain and the exit."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        if code != 0:
            raise AssertionError(
                f"replica on {self.port} exited {code}:\n{self.log()}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def start_nginx(tmp, ports, listen, http_extra="", location_extra=""):
    """nginx on `listen` proxying gRPC to `ports`; `http_extra` and
    `location_extra` are added to its http and location blocks."""
    upstreams = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;" for p in ports)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx_error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format calls '$msec $status $upstream_addr $upstream_status '
                   'trailer=$upstream_trailer_grpc_status '
                   'header=$upstream_http_grpc_status $request_time '
                   '$upstream_response_time';
  access_log {tmp}/access.log calls;
{http_extra}
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream inferd {{
{upstreams}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{listen} http2;
    location / {{
      grpc_pass grpc://inferd;
      grpc_next_upstream error timeout non_idempotent;
      grpc_next_upstream_tries 3;
      grpc_connect_timeout 1s;
{location_extra}
    }}
  }}
}}
""")
    proc = subprocess.Popen([NGINX, "-p", tmp, "-c", conf, "-e",
                             os.path.join(tmp, "nginx_error.log")])

    def listening():
        if proc.poll() is not None:
            raise AssertionError("nginx exited: " + open(
                os.path.join(tmp, "nginx_error.log")).read())
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", listen)) == 0

    wait_for("nginx not listening", listening, 20)
    return proc


def bench(build, target, seconds, out, concurrency=CONCURRENCY):
    return subprocess.Popen(
        [f"{build}/bin/inferd-bench", f"--server=127.0.0.1:{target}",
         "--model=iris", f"--concurrency={concurrency}",
         f"--duration={seconds}", "--warmup=1", f"--json={out}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def bench_result(proc, out):
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"inferd-bench exited {proc.returncode}: {err}")
    with open(out) as f:
        results = json.load(f)
    result = results[0] if isinstance(results, list) else results
    result["stderr"] = err
    return result


def cpu_seconds(pid):
    """CPU time of process `pid` and its children (nginx's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True,
        text=True).stdout.split()]
    for p in pids:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(build, target, tmp, seconds, name, proxy=None):
    """inferd-bench's result at `target`; with `proxy` (nginx's pid), also
    the proxy's CPU time per request in microseconds."""
    out = os.path.join(tmp, f"{name}.json")
    before = cpu_seconds(proxy) if proxy else 0
    started = time.monotonic()
    result = bench_result(bench(build, target, seconds, out), out)
    if proxy:
        # The load ran for warm-up + duration at about the measured rate.
        calls = float(result["infer_per_s"]) * (time.monotonic() - started)
        result["proxy_us"] = (cpu_seconds(proxy) - before) / calls * 1e6
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("models")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=0,
                        help="traffic time (default: enough for the restarts)")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(NGINX):
        print("rolling_restart_test: SKIP: no nginx")
        return 77
    tmp = tempfile.mkdtemp(prefix="rolling_restart_")
    # Only the model the traffic uses: replicas start in a fraction of a
    # second.
    repository = os.path.join(tmp, "models")
    shutil.copytree(os.path.join(args.models, "good", "iris"),
                    os.path.join(repository, "iris"))
    replicas = [Replica(args.build, repository, free_port(), tmp, i)
                for i in range(args.replicas)]
    nginx = None
    try:
        for replica in replicas:
            replica.start()
        listen = free_port()
        nginx = start_nginx(tmp, [r.port for r in replicas], listen)

        # Each restart takes the drain notice (2 s) plus the exit and a
        # start (about 2 s more); traffic runs through all of them.
        seconds = args.seconds or 6 * len(replicas) + 4
        out = os.path.join(tmp, "restart.json")
        load = bench(args.build, listen, seconds, out)
        time.sleep(3)
        for replica in replicas:
            replica.stop()
            replica.start()
            time.sleep(1)
        result = bench_result(load, out)
        errors = result.get("errors") or {}
        print(f"rolling_restart_test: {len(replicas)} replicas restarted in "
              f"turn under {CONCURRENCY} clients for {seconds} s: "
              f"{result.get('infer_per_s')} infer/s, errors {errors or 0}")
        failed = 1 if errors else 0
        if errors:
            # Where each failure came from: a replica's own gRPC status, or
            # nginx (an HTTP error status, no upstream answer).
            origins = {}
            with open(os.path.join(tmp, "access.log")) as f:
                for line in f:
                    fields = dict(p.split("=", 1) for p in line.split()
                                  if "=" in p)
                    status = fields.get("header", "-")
                    if status not in ("-", "0"):
                        key = f"grpc-status {status} from a replica"
                    elif line.split()[1] != "200":
                        key = f"HTTP {line.split()[1]} from nginx"
                    else:
                        continue
                    origins[key] = origins.get(key, 0) + 1
            print(f"rolling_restart_test: requests failed during the restarts: "
                  f"{errors}; origins: {origins}", file=sys.stderr)
            # What nginx saw go wrong, less the refused connections of the
            # replicas being restarted (those calls went to another one).
            with open(os.path.join(tmp, "nginx_error.log")) as f:
                for line in f:
                    if "[error]" in line and "connect() failed" not in line:
                        print("nginx: " + line.rstrip(), file=sys.stderr)
        if args.report:
            direct = measure(args.build, replicas[0].port, tmp, 10, "direct")
            many = measure(args.build, listen, tmp, 10, "many", nginx.pid)
            nginx.terminate()
            nginx.wait()
            one_listen = free_port()
            nginx = start_nginx(tmp, [replicas[0].port], one_listen)
            one = measure(args.build, one_listen, tmp, 10, "one", nginx.pid)
            for name, r in (("direct to one replica", direct),
                            ("nginx, 1 replica", one),
                            (f"nginx, {len(replicas)} replicas", many)):
                proxy = (f"  nginx CPU {r['proxy_us']:.0f} µs/call"
                         if "proxy_us" in r else "")
                print(f"  {name:24s} {r['infer_per_s']:>9} infer/s  "
                      f"p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  "
                      f"errors {r.get('errors') or 0}{proxy}")
        return failed
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            nginx.wait()
        for replica in replicas:
            replica.kill()
        if os.environ.get("KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
