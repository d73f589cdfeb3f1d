"""Starts inferd for a Python test: the binary of a build on a model
repository with every port 0, its stderr in a log, and the ports it chose
read from that log (the Python side of tests/inferd_process.sh)."""
import re
import subprocess
import time

# What inferd logs for each listener, the port in group 1.
PORT_LINES = {
    "grpc": r"listening for gRPC on 127\.0\.0\.1:(\d+)",
    "http": r"listening for HTTP on 127\.0\.0\.1:(\d+)",
    "metrics": r"metrics on http://127\.0\.0\.1:(\d+)/metrics",
}


def start(build, repository, log_path, extra=(), ports=("grpc",),
          preexec_fn=None):
    """Starts {build}/bin/inferd with `extra` flags; returns (process,
    {name: port}) once its log names every port in `ports` (keys of
    PORT_LINES). Raises AssertionError with the log if it exits first or
    is not listening within 120 s."""
    log = open(log_path, "w")
    server = subprocess.Popen(
        [f"{build}/bin/inferd", f"--model-repository={repository}",
         "--grpc-port=0", "--http-port=0", "--metrics-port=0"] + list(extra),
        stderr=log, preexec_fn=preexec_fn)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = open(log_path).read()
        found = {name: re.search(PORT_LINES[name], text) for name in ports}
        if all(found.values()):
            return server, {name: int(m.group(1)) for name, m in found.items()}
        if server.poll() is not None:
            raise AssertionError(f"inferd exited:\n{text}")
        time.sleep(0.05)
    server.kill()
    raise AssertionError("inferd did not start:\n" + open(log_path).read())
