"""Triton's own Python client (tritonclient, pinned in requirements.txt)
against a real inferd, over gRPC and over HTTP.

Every call of the client's public API that inferd implements is made and its
answer checked; the calls inferd does not implement must fail with
UNIMPLEMENTED (gRPC) or 501 (HTTP) and a message naming what is missing.

Usage: tritonclient_test.py BUILD_DIR TEST_MODELS_DIR
Exit 0 pass, 1 fail.
"""
import json
import queue
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]], dtype=np.float32)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def refused(call, status_text):
    """The InferenceServerException `call` raises; records a failure when it
    raises none or one whose status does not contain `status_text`."""
    try:
        call()
    except InferenceServerException as e:
        check(status_text in str(e.status()) or status_text in str(e),
              f"expected {status_text}, got {e.status()}: {e}")
        return e
    check(False, f"expected {status_text}, the call succeeded")
    return None


def start_inferd(build, models, log):
    proc = subprocess.Popen(
        [f"{build}/bin/inferd", f"--model-repository={models}/good",
         "--grpc-port=0", "--http-port=0", "--metrics-port=0",
         "--model-control-mode=explicit", "--load-model=iris"], stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open(log.name) as f:
            text = f.read()
        grpc_port = re.search(r"listening for gRPC on 127\.0\.0\.1:(\d+)", text)
        http_port = re.search(r"listening for HTTP on 127\.0\.0\.1:(\d+)", text)
        if grpc_port and http_port:
            return proc, int(grpc_port.group(1)), int(http_port.group(1))
        if proc.poll() is not None:
            raise AssertionError(f"inferd exited:\n{text}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("inferd not listening after 120 s")


def common_calls(client, module, unimplemented):
    """What both protocols answer alike. `module` is tritonclient.grpc or
    .http; `unimplemented` the status text of an unimplemented call."""
    check(client.is_server_live(), "is_server_live")
    check(client.is_server_ready(), "is_server_ready")
    check(client.is_model_ready("iris"), "is_model_ready(iris)")
    check(not client.is_model_ready("iris", "7"), "iris version 7 not ready")

    server = client.get_server_metadata(**as_json(client))
    check(server["name"] == "inferd", f"server name: {server}")
    for extension in ("classification", "model_configuration",
                      "model_repository", "statistics", "binary_tensor_data"):
        check(extension in server["extensions"], f"extension {extension}")

    metadata = client.get_model_metadata("iris", **as_json(client))
    check(metadata["inputs"][0]["name"] == "features", f"metadata {metadata}")
    check([int(d) for d in metadata["inputs"][0]["shape"]] == [-1, 4],
          f"input shape {metadata['inputs'][0]['shape']}")
    config = client.get_model_config("iris", **as_json(client))
    config = config.get("config", config)
    check(int(config["max_batch_size"]) == 64, f"config {config}")

    # infer: plain, and the top class with its label.
    inputs = [module.InferInput("features", list(ROWS.shape), "FP32")]
    inputs[0].set_data_from_numpy(ROWS)
    result = client.infer("iris", inputs, request_id="r-1",
                          outputs=[module.InferRequestedOutput("probabilities")])
    probabilities = result.as_numpy("probabilities")
    check(probabilities.shape == (2, 3), f"shape {probabilities.shape}")
    check(abs(float(probabilities[0].sum()) - 1.0) < 1e-5, "sums to 1")
    check(probabilities[0][0] > 0.9 and probabilities[1][2] > 0.9,
          f"classes {probabilities}")
    check(result.get_response(**as_json(client))["id"] == "r-1", "id echoed")
    top = client.infer("iris", inputs, outputs=[
        module.InferRequestedOutput("probabilities", class_count=1)])
    labels = [v.decode() for v in top.as_numpy("probabilities").ravel()]
    check(labels[0].endswith(":0:setosa") and labels[1].endswith(":2:virginica"),
          f"classification {labels}")

    # A bad request names what was wrong.
    bad = [module.InferInput("features", [1, 5], "FP32")]
    bad[0].set_data_from_numpy(np.zeros((1, 5), dtype=np.float32))
    e = refused(lambda: client.infer("iris", bad), "INVALID_ARG"
                if module is grpcclient else "400")
    check(e is not None and "features" in str(e), f"bad shape message: {e}")
    refused(lambda: client.infer("nope", inputs),
            "NOT_FOUND" if module is grpcclient else "404")

    invalid = "INVALID_ARG" if module is grpcclient else "400"

    # Repository: index, load, unload.
    index = client.get_model_repository_index(**as_json(client))
    index = index.get("models", index) if isinstance(index, dict) else index
    names = {m["name"]: m.get("state", "") for m in index}
    check(names.get("iris") == "READY", f"index iris {names}")
    check(names.get("sumdiff") in ("", "UNAVAILABLE"),
          f"explicit-mode index lists unloaded models: {names}")
    client.load_model("sumdiff")
    check(client.is_model_ready("sumdiff"), "sumdiff loaded")
    client.unload_model("sumdiff")
    deadline = time.monotonic() + 30
    while client.is_model_ready("sumdiff") and time.monotonic() < deadline:
        time.sleep(0.1)
    check(not client.is_model_ready("sumdiff"), "sumdiff unloaded")

    # Schedule policy: infer(priority=, timeout=) as Triton defines them on
    # the model with three levels (level 1 allows a timeout override).
    client.load_model("priority")
    x = [module.InferInput("x", [1, 1], "FP32")]
    x[0].set_data_from_numpy(np.array([[41.0]], dtype=np.float32))
    answer = client.infer("priority", x, priority=1, timeout=5_000_000)
    check(float(answer.as_numpy("y")[0, 0]) == 42.0,
          "infer with priority and timeout")
    e = refused(lambda: client.infer("priority", x, priority=9), invalid)
    check(e is not None and "priority" in str(e), f"priority 9 of 3: {e}")
    client.unload_model("priority")

    stats = client.get_inference_statistics("iris", **as_json(client))
    model = stats["model_stats"][0]
    check(int(model["inference_count"]) >= 4, f"statistics {model}")
    check(int(model["inference_stats"]["success"]["count"]) >= 2,
          f"success count {model}")
    for field in ("queue", "compute_input", "compute_infer", "compute_output"):
        check(int(model["inference_stats"][field]["count"]) >= 2,
              f"{field} count {model}")

    # load_model(config=...): the model reloads with that config (its
    # statistics start again), bad ones are refused naming what was wrong,
    # and a load without one reads config.pbtxt again.
    config = client.get_model_config("iris", **as_json(client))
    config = config.get("config", config)
    file_batch = int(config["max_batch_size"])
    wanted = 8 if file_batch != 8 else 4
    config["max_batch_size"] = wanted
    client.load_model("iris", config=json.dumps(config))
    given = client.get_model_config("iris", **as_json(client))
    given = given.get("config", given)
    check(int(given["max_batch_size"]) == wanted,
          f"load_model(config=...) in force: {given.get('max_batch_size')}")
    answer = client.infer("iris", inputs)
    check(answer.as_numpy("probabilities").shape == (2, 3),
          "infer after a load with a config")
    e = refused(lambda: client.load_model("iris", config="not json {"),
                invalid)
    check(e is not None and "parameters.config" in str(e),
          f"bad JSON config: {e}")
    config["max_batch_size"] = -5
    e = refused(lambda: client.load_model("iris", config=json.dumps(config)),
                invalid)
    check(e is not None and "max_batch_size" in str(e),
          f"negative max_batch_size: {e}")
    e = refused(lambda: client.load_model(
        "iris", files={"file:1/model.pt": b"x"}), unimplemented)
    check(e is not None and "file:1/model.pt" in str(e), f"files=: {e}")
    client.load_model("iris")
    again = client.get_model_config("iris", **as_json(client))
    again = again.get("config", again)
    check(int(again["max_batch_size"]) == file_batch,
          f"a load without a config reads the file: {again}")

    # What inferd does not implement says so.
    refused(lambda: client.get_system_shared_memory_status(), unimplemented)
    refused(lambda: client.get_cuda_shared_memory_status(), unimplemented)
    refused(lambda: client.get_trace_settings(), unimplemented)
    refused(lambda: client.get_log_settings(), unimplemented)
    return probabilities


def as_json(client):
    return {"as_json": True} if isinstance(
        client, grpcclient.InferenceServerClient) else {}


def grpc_only(client):
    inputs = [grpcclient.InferInput("features", list(ROWS.shape), "FP32")]
    inputs[0].set_data_from_numpy(ROWS)
    answers = queue.Queue()
    client.async_infer("iris", inputs,
                       callback=lambda result, error: answers.put((result, error)))
    result, error = answers.get(timeout=30)
    check(error is None, f"async_infer error {error}")
    check(result is not None and result.as_numpy("probabilities").shape == (2, 3),
          "async_infer result")

    # Streaming: answers in order with their ids; a bad request's error comes
    # back on the stream without closing it.
    streamed = queue.Queue()
    client.start_stream(callback=lambda result, error: streamed.put((result, error)))
    for i in range(10):
        client.async_stream_infer("iris", inputs, request_id=f"s-{i}")
    bad = [grpcclient.InferInput("features", [1, 5], "FP32")]
    bad[0].set_data_from_numpy(np.zeros((1, 5), dtype=np.float32))
    client.async_stream_infer("iris", bad, request_id="s-bad")
    client.async_stream_infer("iris", inputs, request_id="s-last")
    ids = []
    for _ in range(12):
        result, error = streamed.get(timeout=30)
        ids.append(result.get_response().id if error is None else f"error:{error}")
    client.stop_stream()
    check(ids[:10] == [f"s-{i}" for i in range(10)], f"stream order {ids}")
    check(ids[10].startswith("error:") and "features" in ids[10],
          f"stream error in place {ids[10]}")
    check(ids[11] == "s-last", f"stream goes on after an error {ids}")


def http_only(client, grpc_probabilities):
    # Binary and JSON tensors, both ways, give the same answer as gRPC.
    for binary_in in (False, True):
        for binary_out in (False, True):
            inputs = [httpclient.InferInput("features", list(ROWS.shape), "FP32")]
            inputs[0].set_data_from_numpy(ROWS, binary_data=binary_in)
            outputs = [httpclient.InferRequestedOutput(
                "probabilities", binary_data=binary_out)]
            result = client.infer("iris", inputs, outputs=outputs)
            check(np.array_equal(result.as_numpy("probabilities"),
                                 grpc_probabilities),
                  f"HTTP binary in={binary_in} out={binary_out} equals gRPC")
    inputs = [httpclient.InferInput("features", list(ROWS.shape), "FP32")]
    inputs[0].set_data_from_numpy(ROWS)
    pending = client.async_infer("iris", inputs)
    check(pending.get_result().as_numpy("probabilities").shape == (2, 3),
          "HTTP async_infer")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, models = sys.argv[1], sys.argv[2]
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc, grpc_port, http_port = start_inferd(build, models, log)
        try:
            grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")
            probabilities = common_calls(grpc, grpcclient, "UNIMPLEMENTED")
            grpc_only(grpc)
            grpc.close()
            http = httpclient.InferenceServerClient(f"127.0.0.1:{http_port}",
                                                    concurrency=2)
            common_calls(http, httpclient, "501")
            http_only(http, probabilities)
            http.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        if failures:
            log.seek(0)
            print(log.read()[-4000:], file=sys.stderr)
    print(f"tritonclient_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
