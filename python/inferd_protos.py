"""inferd's protobuf messages for the project's Python scripts.

The repository commits no generated code: generate() compiles
proto/inference.proto and proto/model_config.proto with grpc_tools (from the
project's venv) into a directory and imports them from there.
"""
import os
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate(out_dir, grpc=False):
    """Generates the messages (and, with grpc, the service stubs) into out_dir
    as the package `proto`, placed first on sys.path so that no other `proto`
    (tests/proto) shadows it, and returns a namespace with inference_pb2,
    model_config_pb2 and, with grpc, inference_pb2_grpc."""
    command = [sys.executable, "-m", "grpc_tools.protoc", "-I", ROOT,
               f"--python_out={out_dir}"]
    if grpc:
        command.append(f"--grpc_python_out={out_dir}")
    subprocess.run(command + ["proto/inference.proto",
                              "proto/model_config.proto"],
                   cwd=ROOT, check=True)
    open(os.path.join(out_dir, "proto", "__init__.py"), "w").close()
    sys.path.insert(0, out_dir)
    from proto import inference_pb2, model_config_pb2
    modules = types.SimpleNamespace(inference_pb2=inference_pb2,
                                    model_config_pb2=model_config_pb2)
    if grpc:
        from proto import inference_pb2_grpc
        modules.inference_pb2_grpc = inference_pb2_grpc
    return modules
