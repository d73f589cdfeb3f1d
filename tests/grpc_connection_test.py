"""What the gRPC server does on an HTTP/2 connection, seen by a raw HTTP/2
client (h2):

1. It sends no PING while it serves calls, unless --grpc-http2-bdp-probe=true
   asks for gRPC's bandwidth-delay-product probe, whose PINGs it then sees.
2. With --grpc-max-connection-idle, a connection without calls gets a GOAWAY
   and is closed; without it, it stays open.

Why it matters: nginx 1.22 (grpc_pass) fails a call whose whole response has
arrived if the server closes the connection while nginx still owes an answer
to a PING that came with it; the server closes a connection right after its
last call once the connection's age-out GOAWAY was sent. With the probe on,
three replicas behind nginx with --grpc-max-connection-age=1000 lost 3 calls
in 20 runs of tests/rolling_restart_test.py on a loaded machine
(nginx: "upstream prematurely closed connection while sending to client").

Usage: grpc_connection_test.py BUILD_DIR MODELS_DIR
Exit 0 pass, 1 fail.
"""
import os
import shutil
import socket
import sys
import tempfile
import time

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import inferd_process  # noqa: E402
import inferd_protos  # noqa: E402

CALLS = 200


def served(build, repository, log_path, extra, use):
    """Starts inferd with `extra` flags, returns use(its gRPC port), and
    stops it."""
    server, ports = inferd_process.start(build, repository, log_path, extra)
    try:
        return use(ports["grpc"])
    finally:
        server.terminate()
        server.wait(timeout=60)


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def goaway_within(port, seconds):
    """Opens a connection, makes no call, and returns whether the server
    asks it away (GOAWAY, or closes it) within `seconds`."""
    sock, conn = connect(port)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                return False
            if not data:
                return True
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    return True
            sock.sendall(conn.data_to_send())
        return False
    finally:
        sock.close()


def call_and_count_pings(port, body):
    """CALLS ModelInfer calls one after another on one HTTP/2 connection;
    returns (PINGs the server sent, calls answered with grpc-status 0)."""
    sock, conn = connect(port)
    message = b"\x00" + len(body).to_bytes(4, "big") + body
    pings = answered = 0
    for _ in range(CALLS):
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"),
            (":path", "/inference.GRPCInferenceService/ModelInfer"),
            (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"), ("te", "trailers")])
        conn.send_data(stream, message, end_stream=True)
        sock.sendall(conn.data_to_send())
        status = None
        ended = False
        while not ended:
            data = sock.recv(65536)
            if not data:
                raise AssertionError("the server closed the connection")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.PingReceived):
                    pings += 1  # h2 queues the ACK itself
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    status = dict(event.headers).get("grpc-status")
                elif (isinstance(event, h2.events.StreamEnded)
                      and event.stream_id == stream):
                    ended = True
            sock.sendall(conn.data_to_send())
        answered += status == "0"
    sock.close()
    return pings, answered


def main():
    build, models = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="grpc_connection_")
    repository = os.path.join(tmp, "models")
    shutil.copytree(os.path.join(models, "good", "iris"),
                    os.path.join(repository, "iris"))
    protos = inferd_protos.generate(tmp)
    request = protos.inference_pb2.ModelInferRequest(model_name="iris")
    features = request.inputs.add(name="features", datatype="FP32",
                                  shape=[1, 4])
    features.contents.fp32_contents.extend([5.1, 3.5, 1.4, 0.2])
    body = request.SerializeToString()
    failures = []
    try:
        for extra, want_pings in (([], False),
                                  (["--grpc-http2-bdp-probe=true"], True)):
            log_path = os.path.join(tmp, f"pings{len(extra)}.log")
            pings, answered = served(
                build, repository, log_path, extra,
                lambda port: call_and_count_pings(port, body))
            flags = " ".join(extra) or "default flags"
            print(f"grpc_connection_test: {flags}: {answered} of {CALLS} calls "
                  f"answered, {pings} PINGs from the server")
            if answered != CALLS:
                failures.append(f"{flags}: {CALLS - answered} calls failed")
            if want_pings and pings == 0:
                failures.append(f"{flags}: no PING (is the probe still "
                                "what sends them?)")
            if not want_pings and pings != 0:
                failures.append(f"{flags}: {pings} PINGs while serving")
        # An idle connection: asked away with the flag, kept without it.
        for extra, want_goaway in (([], False),
                                   (["--grpc-max-connection-idle=300"], True)):
            # Idle time is checked on gRPC's timer: allow it ample time.
            log_path = os.path.join(tmp, f"idle{len(extra)}.log")
            wait = 10 if want_goaway else 2
            goaway = served(build, repository, log_path, extra,
                            lambda port: goaway_within(port, wait))
            flags = " ".join(extra) or "default flags"
            print(f"grpc_connection_test: {flags}: idle connection "
                  f"{'asked away' if goaway else 'kept'}")
            if goaway != want_goaway:
                failures.append(f"{flags}: idle connection "
                                f"{'asked away' if goaway else 'kept'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
