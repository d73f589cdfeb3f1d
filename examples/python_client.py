"""Classifies iris flowers with a running inferd from Python, through the
gRPC stubs that python/inferd_protos.py generates from proto/ at run time
(grpcio-tools, pinned in requirements.txt; nothing generated is committed).

    .venv/bin/python examples/python_client.py --server 127.0.0.1:8001
    .venv/bin/python examples/python_client.py --flower "5.9,3.0,5.1,1.8;5.1,3.5,1.4,0.2"

Prints what build/bin/iris-client prints. Exit 0 on success, 1 when the call
fails (its gRPC code and message on stderr), 2 on bad arguments.
"""
import argparse
import os
import struct
import sys
import tempfile

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
import inferd_protos  # noqa: E402

SAMPLES = "5.1,3.5,1.4,0.2;6.4,3.2,4.5,1.5;6.3,3.3,6.0,2.5"


def parse_flowers(text):
    flowers = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        row = [float(v) for v in part.split(",")]
        if len(row) != 4:
            raise ValueError(f"{part}: each flower needs 4 measurements")
        flowers.append(row)
    return flowers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:8001",
                        help="inferd gRPC address")
    parser.add_argument("--model", default="iris")
    parser.add_argument("--flower", default=SAMPLES,
                        help="sepal length,sepal width,petal length,petal "
                             "width in cm; several separated by ';'")
    parser.add_argument("--timeout", type=float, default=10,
                        help="the call's deadline, seconds")
    args = parser.parse_args()
    try:
        flowers = parse_flowers(args.flower)
    except ValueError as e:
        parser.error(f"--flower: {e}")

    with tempfile.TemporaryDirectory(prefix="inferd-stubs-") as out:
        protos = inferd_protos.generate(out, grpc=True)
    pb, pb_grpc = protos.inference_pb2, protos.inference_pb2_grpc

    request = pb.ModelInferRequest(model_name=args.model)
    request.inputs.add(name="features", datatype="FP32",
                       shape=[len(flowers), 4])
    # Raw little-endian FP32, row-major, as the protocol wants.
    request.raw_input_contents.append(
        struct.pack(f"<{4 * len(flowers)}f", *(v for f in flowers for v in f)))
    wanted = request.outputs.add(name="probabilities")
    wanted.parameters["classification"].int64_param = 1

    with grpc.insecure_channel(args.server) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            response = stub.ModelInfer(request, timeout=args.timeout)
        except grpc.RpcError as e:
            print(f"ModelInfer failed: {e.code().name}: {e.details()}",
                  file=sys.stderr)
            return 1

    # BYTES elements: a 4-byte little-endian length, then "score:index:label".
    raw, offset = response.raw_output_contents[0], 0
    for flower in flowers:
        (length,) = struct.unpack_from("<I", raw, offset)
        entry = raw[offset + 4:offset + 4 + length].decode()
        offset += 4 + length
        score, _, label = entry.split(":", 2)
        measurements = ", ".join(f"{v:g}" for v in flower)
        print(f"[{measurements}] -> {label} (confidence {score})")
    print(f"answered by {response.model_name} version {response.model_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
