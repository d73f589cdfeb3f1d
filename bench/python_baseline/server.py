"""Benchmark baseline: the usual Python gRPC + TorchScript inference server.

NOT part of inferd. This is the recipe most teams start from, kept short and
plain on purpose so inferd-bench can measure inferd against it: grpcio with a
thread pool, one TorchScript model loaded once, and one forward pass per
request under torch.no_grad() (no batching, no queueing of its own). It
speaks the parts of inference.GRPCInferenceService that inferd-bench uses
(ModelMetadata, ModelInfer, ServerLive, ServerReady); every other RPC answers
UNIMPLEMENTED. FP32 inputs and outputs in raw_input_contents only.

    .venv/bin/python bench/python_baseline/server.py --model-dir /tmp/models/mlp

Runs on the project's venv (grpcio, grpcio-tools, protobuf, numpy, torch).
"""
import argparse
import os
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc
import numpy as np
import torch
from google.protobuf import text_format

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "inference.GRPCInferenceService"
MAX_MESSAGE_BYTES = 64 << 20  # same limit as inferd

sys.path.insert(0, os.path.join(REPO_ROOT, "python"))
import inferd_protos  # noqa: E402




def wire_name(model_config_pb2, data_type):
    """TYPE_FP32 -> "FP32" (TYPE_STRING -> "BYTES"), as KServe v2 spells it."""
    name = model_config_pb2.DataType.Name(data_type)[len("TYPE_"):]
    return "BYTES" if name == "STRING" else name


class Baseline:
    """The model and the RPC handlers. Handlers run on grpcio's thread pool;
    the TorchScript module is only read, so they share it without a lock."""

    def __init__(self, model_dir, pb, config_pb):
        self.pb = pb
        with open(os.path.join(model_dir, "config.pbtxt")) as f:
            self.config = text_format.Parse(f.read(), config_pb.ModelConfig())
        versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()
                    and os.path.isfile(os.path.join(model_dir, d, "model.pt"))]
        if not versions:
            raise SystemExit(f"{model_dir}: no <version>/model.pt")
        self.version = str(max(versions))
        self.model = torch.jit.load(os.path.join(model_dir, self.version, "model.pt"),
                                    map_location="cpu").eval()
        self.batched = self.config.max_batch_size > 0
        self.inputs = [(t.name, list(t.dims)) for t in self.config.input]
        self.outputs = [(t.name, wire_name(config_pb, t.data_type), list(t.dims))
                        for t in self.config.output]
        self.metadata = pb.ModelMetadataResponse(
            name=self.config.name, versions=[self.version], platform=self.config.platform)
        batch = [-1] if self.batched else []
        for t in self.config.input:
            self.metadata.inputs.add(name=t.name, datatype=wire_name(config_pb, t.data_type),
                                     shape=batch + list(t.dims))
        for name, datatype, dims in self.outputs:
            self.metadata.outputs.add(name=name, datatype=datatype, shape=batch + dims)

    def server_live(self, request, context):
        return self.pb.ServerLiveResponse(live=True)

    def server_ready(self, request, context):
        return self.pb.ServerReadyResponse(ready=True)

    def model_metadata(self, request, context):
        self.check_name(request.name, context)
        return self.metadata

    def model_infer(self, request, context):
        self.check_name(request.model_name, context)
        tensors = self.decode_inputs(request, context)
        try:
            with torch.no_grad():
                result = self.model(*tensors)
        except RuntimeError as e:
            context.abort(grpc.StatusCode.INTERNAL, f"model {self.config.name}: {e}")
        if isinstance(result, torch.Tensor):
            result = (result,)
        response = self.pb.ModelInferResponse(
            model_name=self.config.name, model_version=self.version, id=request.id)
        for (name, datatype, dims), tensor in zip(self.outputs, result):
            shape = [tensor.shape[0]] + dims if self.batched else dims
            response.outputs.add(name=name, datatype=datatype, shape=shape)
            response.raw_output_contents.append(tensor.contiguous().numpy().tobytes())
        return response

    def check_name(self, name, context):
        if name != self.config.name:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f'unknown model "{name}"; this server has "{self.config.name}"')

    def decode_inputs(self, request, context):
        """The request's raw FP32 inputs as tensors, in config order."""
        if len(request.raw_input_contents) != len(request.inputs):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "expected one raw_input_contents entry per input")
        by_name = {}
        for tensor, raw in zip(request.inputs, request.raw_input_contents):
            if tensor.datatype != "FP32":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f'input "{tensor.name}": datatype {tensor.datatype} '
                              "is not supported by this baseline; expected FP32")
            shape = list(tensor.shape)
            if len(raw) != 4 * int(np.prod(shape)):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f'input "{tensor.name}": {len(raw)} bytes do not fill '
                              f"FP32 shape {shape}")
            by_name[tensor.name] = torch.tensor(np.frombuffer(raw, dtype="<f4").reshape(shape))
        missing = [name for name, _ in self.inputs if name not in by_name]
        if missing or len(by_name) != len(self.inputs):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"expected inputs {[n for n, _ in self.inputs]}, "
                          f"got {list(by_name)}")
        return [by_name[name] for name, _ in self.inputs]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", required=True,
                   help="one model's directory in a Triton-layout repository")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--workers", type=int, default=8, help="gRPC thread-pool size")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch.set_num_threads (intra-op threads)")
    args = p.parse_args()
    torch.set_num_threads(args.torch_threads)

    with tempfile.TemporaryDirectory(prefix="inferd-baseline-") as gen_dir:
        protos = inferd_protos.generate(gen_dir)
        pb, config_pb = protos.inference_pb2, protos.model_config_pb2
    baseline = Baseline(args.model_dir, pb, config_pb)

    def unary(fn, request_class):
        return grpc.unary_unary_rpc_method_handler(
            fn, request_deserializer=request_class.FromString,
            response_serializer=lambda message: message.SerializeToString())

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "ServerLive": unary(baseline.server_live, pb.ServerLiveRequest),
        "ServerReady": unary(baseline.server_ready, pb.ServerReadyRequest),
        "ModelMetadata": unary(baseline.model_metadata, pb.ModelMetadataRequest),
        "ModelInfer": unary(baseline.model_infer, pb.ModelInferRequest),
    })
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers),
        handlers=[handler],
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    if port == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{args.port}")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    stop.wait()
    server.stop(grace=2).wait()


if __name__ == "__main__":
    main()
