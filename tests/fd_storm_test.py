"""A connection storm against the real binary with a low open-file limit:
the gRPC port keeps GrpcListener::kReservedDescriptors (256) files free, so
the server never runs out, answers its existing clients and HTTP during the
storm, and accepts new connections once the storm's close.

gRPC 1.51's own listener stopped accepting for good after one EMFILE while
the connections it had kept answering (issue: an fd storm left a server that
health checks called healthy and no new client could reach).

Usage: fd_storm_test.py BUILD_DIR MODELS_DIR
Exit 0 pass, 1 fail.
"""
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
import urllib.request

import numpy as np
import tritonclient.grpc as grpcclient

import inferd_process

LIMIT = 600       # inferd's open-file limit in this test
STORM = 800       # connections opened at once: more than the limit
ROWS = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def infer(url):
    # A connection of its own: gRPC's Python channels to one address would
    # otherwise share the first one's.
    client = grpcclient.InferenceServerClient(
        url, channel_args=[("grpc.use_local_subchannel_pool", 1)])
    inputs = [grpcclient.InferInput("features", [1, 4], "FP32")]
    inputs[0].set_data_from_numpy(ROWS)
    result = client.infer("iris", inputs, client_timeout=10)
    return client, result.as_numpy("probabilities").shape == (1, 3)


def main():
    build, models = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fd_storm_")
    shutil.copytree(os.path.join(models, "good", "iris"),
                    os.path.join(tmp, "models", "iris"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)),
                                                hard))
    log_path = os.path.join(tmp, "server.log")

    def limit_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, hard))

    server, ports = inferd_process.start(build, f"{tmp}/models", log_path,
                                         ports=("grpc", "http"),
                                         preexec_fn=limit_files)
    grpc_port, http_port = ports["grpc"], ports["http"]
    storm = []
    try:
        url = f"127.0.0.1:{grpc_port}"
        before, ok = infer(url)
        check(ok, "infer before the storm")

        for _ in range(STORM):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", grpc_port))
            storm.append(s)
        # The listener reaches its ceiling and waits.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                "kept for the rest of the server" not in open(log_path).read():
            time.sleep(0.1)
        text = open(log_path).read()
        check("kept for the rest of the server" in text,
              "the listener never reached its ceiling")
        check(server.poll() is None, "inferd died in the storm")

        # The client connected before the storm is still served, and HTTP
        # still gets a file for its connection.
        inputs = [grpcclient.InferInput("features", [1, 4], "FP32")]
        inputs[0].set_data_from_numpy(ROWS)
        shape = before.infer("iris", inputs, client_timeout=10).as_numpy(
            "probabilities").shape
        check(shape == (1, 3), "infer on an existing connection in the storm")
        live = urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/v2/health/live", timeout=10)
        check(live.status == 200, f"HTTP live in the storm: {live.status}")

        for s in storm:
            s.close()
        storm = []
        # Once the storm's connections are closed the listener accepts
        # again, and a new client gets a new connection.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                "accepting again" not in open(log_path).read():
            time.sleep(0.1)
        check("accepting again" in open(log_path).read(),
              "no 'accepting again' in the log 30 s after the storm")
        try:
            _, ok = infer(url)
        except Exception as e:
            ok = False
            print(f"new client: {e}", file=sys.stderr)
        check(ok, "a new client after the storm")
        text = open(log_path).read()
        check("Too many open files" not in text,
              "the server ran out of files:\n" + text[-2000:])
    finally:
        for s in storm:
            s.close()
        server.terminate()
        code = server.wait(timeout=60)
        check(code == 0, f"inferd exit status {code}")
        if failures:
            print(open(log_path).read()[-3000:], file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"fd_storm_test: {STORM} connections against a limit of {LIMIT} "
          f"files: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
