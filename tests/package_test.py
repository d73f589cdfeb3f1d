"""tools/inferd_package.py, end to end: checkpoints in, served versions out.

- Round trips: a bare state_dict, a training checkpoint (optimizer state,
  epoch) and an inference package (model_config, input_mean/input_std,
  class_names; --normalize --softmax), each packaged as a .pt2 and as
  TorchScript into one repository; the real inferd loads all six, every one
  passes its validation gate (READY) and answers ModelInfer over gRPC within
  1e-5 of eager PyTorch computed here, independently of the tool.
- Refusals (exit status 2, the reason printed, nothing published): a dict
  that is no checkpoint shape, a state_dict that does not match the
  architecture, a model that stays in training mode after .eval(), an export that differs from eager, a static batch dimension
  (TorchScript and .pt2), an existing version (left untouched), a version
  that contradicts the model's config.pbtxt, --normalize without statistics.
- Live swap: inferd polls a repository serving version 1 while two clients
  call it; the tool publishes version 2 into it; answers move to version 2
  with no failed call and only versions 1 and 2 answering.

Usage: .venv/bin/python tests/package_test.py BUILD_DIR   (BUILD_DIR/bin/inferd)
"""
import concurrent.futures
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "inferd_package.py")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "python"))
import inferd_protos  # noqa: E402
from package_models import MlpClassifier  # noqa: E402

BUILD = None  # set from argv in __main__
TOLERANCE = 1e-5
CONFIG = {"in_features": 4, "hidden": 16, "classes": 3}
MEAN = torch.tensor([5.8, 3.0, 3.7, 1.2])
STD = torch.tensor([0.8, 0.4, 1.7, 0.7])
MODEL_FLAGS = ["--model-path", os.path.join(ROOT, "tests"),
               "--input-shape", "4"]


def package(*args):
    """Runs the tool; -> (exit status, stdout + stderr)."""
    proc = subprocess.run([sys.executable, TOOL, *args], cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300)
    return proc.returncode, proc.stdout


def trained_model(seed, **config):
    """A model after a few Adam steps (BatchNorm's running statistics and
    the weights moved), with its optimizer."""
    torch.manual_seed(seed)
    model = MlpClassifier(**(config or CONFIG))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(32, model.fc1.in_features) * 2 + 1
    y = torch.randint(0, model.fc2.out_features, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval(), optimizer


def eager(checkpoint, x):
    """What the served model must compute, from the checkpoint, without the
    tool's code: the architecture, eval mode, and the preprocessing the
    inference package asks for."""
    data = torch.load(checkpoint, weights_only=True)
    state = data.get("model_state_dict", data)
    model = MlpClassifier(**data.get("model_config", CONFIG))
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        if "input_mean" in data:
            x = (x - data["input_mean"]) / data["input_std"]
        y = model(x)
        if "class_names" in data:  # packaged with --normalize --softmax
            y = torch.softmax(y, dim=1)
    return y.numpy()



def snapshot(path):
    """Every file under path: name -> (size, mtime, sha256)."""
    result = {}
    for dirpath, _, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            st = os.stat(full)
            result[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns,
                                                   digest)
    return result


class Server:
    """A real inferd process on free ports, its log in a file."""

    def __init__(self, repo, log_path, *flags):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "bin", "inferd"),
             f"--model-repository={repo}", "--grpc-port=0", "--http-port=0",
             "--metrics-port=0", *flags],
            stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for(self, pattern, timeout_s=120):
        """Polls the server's log (another process's output) for pattern."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            if self.proc.poll() is not None:
                raise AssertionError(f"inferd exited ({self.proc.returncode}):"
                                     f"\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in inferd's log after "
                             f"{timeout_s} s:\n{self.text()}")

    def port(self):
        return int(self.wait_for(
            r"listening for gRPC on 127\.0\.0\.1:(\d+)").group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        cls.grpc = grpc
        cls.tmp = tempfile.mkdtemp(prefix="inferd_package_test.")
        protos = inferd_protos.generate(
            tempfile.mkdtemp(dir=cls.tmp, prefix="stubs."), grpc=True)
        cls.pb, cls.pb_grpc = protos.inference_pb2, protos.inference_pb2_grpc
        ck = cls.checkpoints = {}
        model, _ = trained_model(1)
        ck["bare"] = os.path.join(cls.tmp, "bare.pt")
        torch.save(model.state_dict(), ck["bare"])
        model, optimizer = trained_model(2)
        ck["train"] = os.path.join(cls.tmp, "train.pt")
        torch.save({"model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(),
                    "epoch": 5, "metrics": {"loss": 0.9}}, ck["train"])
        inference_config = {"in_features": 4, "hidden": 24, "classes": 3}
        model, _ = trained_model(3, **inference_config)
        ck["infer"] = os.path.join(cls.tmp, "infer.pt")
        torch.save({"model_state_dict": model.state_dict(),
                    "model_config": inference_config,
                    "input_mean": MEAN, "input_std": STD,
                    "class_names": ["setosa", "versicolor", "virginica"]},
                   ck["infer"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def stub(self, port):
        channel = self.grpc.insecure_channel(f"127.0.0.1:{port}")
        self.addCleanup(channel.close)
        return self.pb_grpc.GRPCInferenceServiceStub(channel)

    def infer(self, stub, name, x):
        """-> (output array, model_version)."""
        request = self.pb.ModelInferRequest(model_name=name)
        tensor = request.inputs.add()
        tensor.name, tensor.datatype = "INPUT__0", "FP32"
        tensor.shape.extend(x.shape)
        request.raw_input_contents.append(
            x.numpy().astype("<f4").tobytes())
        response = stub.ModelInfer(request, timeout=20)
        out = np.frombuffer(response.raw_output_contents[0], dtype="<f4")
        return (out.reshape(list(response.outputs[0].shape)),
                response.model_version)

    def assert_no_staging(self, repo):
        left = [d for d in os.listdir(repo) if d.startswith(".staging")]
        self.assertEqual(left, [], "staging directories left behind")

    # ------------------------------------------------------------ round trips

    def test_round_trips_are_served(self):
        repo = os.path.join(self.tmp, "round_trips")
        os.mkdir(repo)
        jobs = {}
        for kind in ("bare", "train", "infer"):
            for fmt in ("aoti", "torchscript"):
                name = f"{kind}_{'ts' if fmt == 'torchscript' else fmt}"
                extra = ["--normalize", "--softmax"] if kind == "infer" else []
                jobs[name] = (kind, [self.checkpoints[kind], "--model",
                                     "package_models:MlpClassifier",
                                     *MODEL_FLAGS, *extra, "--format", fmt,
                                     "--repository", repo, "--name", name])
        # Two at a time (two cores; each .pt2 compiles C++): also shows that
        # concurrent runs into one repository do not collide.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = dict(zip(jobs, pool.map(
                lambda job: package(*job[1]), jobs.values())))
        for name, (rc, out) in results.items():
            self.assertEqual(rc, 0, f"{name}:\n{out}")
            self.assertIn(f"published {repo}/{name}/1/", out)
        self.assert_no_staging(repo)
        self.assertIn("training mode gives other outputs than eval mode",
                      results["bare_ts"][1])
        self.assertIn("bn (BatchNorm1d), drop (Dropout)",
                      results["bare_ts"][1])
        for name in jobs:
            files = os.listdir(os.path.join(repo, name, "1"))
            self.assertIn("model.pt2" if "aoti" in name else "model.pt", files)
            self.assertEqual(sorted(os.listdir(os.path.join(
                repo, name, "1", "validation"))), ["INPUT__0.bin",
                                                    "OUTPUT__0.bin"])
        with open(os.path.join(repo, "infer_aoti", "labels.txt")) as f:
            self.assertEqual(f.read(), "setosa\nversicolor\nvirginica\n")
        with open(os.path.join(repo, "infer_aoti", "config.pbtxt")) as f:
            config = f.read()
        for line in ('platform: "torch_aoti"', "max_batch_size: 64",
                     "dims: [ 4 ]", "dims: [ 3 ]", "data_type: TYPE_FP32",
                     'label_filename: "labels.txt"',
                     "max_queue_delay_microseconds: 500"):
            self.assertIn(line, config)
        with open(os.path.join(repo, "bare_ts", "config.pbtxt")) as f:
            config = f.read()
        self.assertIn('platform: "pytorch_libtorch"', config)
        self.assertNotIn("label_filename", config)

        server = Server(repo, os.path.join(self.tmp, "round_trips.log"))
        try:
            port = server.port()  # after every model loaded (or failed)
            log = server.text()
            not_ready = [n for n in jobs
                         if f"model {n} version 1 is READY" not in log]
            self.assertEqual(not_ready, [], "\n".join(
                line for line in log.splitlines()
                if any(f"model {n} " in line or f"/{n}/" in line
                       for n in not_ready)) + "\n--- whole log:\n" + log)
            stub = self.stub(port)
            torch.manual_seed(7)
            for rows in (1, 5):
                x = (torch.randn(rows, 4) * STD + MEAN).contiguous()
                for name, (kind, _) in jobs.items():
                    got, version = self.infer(stub, name, x)
                    expected = eager(self.checkpoints[kind], x)
                    self.assertEqual(version, "1")
                    self.assertEqual(got.shape, expected.shape, name)
                    np.testing.assert_allclose(got, expected, rtol=0,
                                               atol=TOLERANCE, err_msg=name)
        finally:
            server.stop()

    # --------------------------------------------------------------- refusals

    def refused(self, repo, name, substrings, *args):
        rc, out = package(*args, "--repository", repo, "--name", name)
        self.assertEqual(rc, 2, out)
        self.assertIn("refused: ", out)
        for text in substrings:
            self.assertIn(text, out)
        if name != "published":  # nothing of a new model
            self.assertFalse(os.path.exists(os.path.join(repo, name)), out)
        self.assert_no_staging(repo)
        return out

    def test_refusals(self):
        repo = os.path.join(self.tmp, "refusals")
        os.mkdir(repo)
        mlp = ["--model", "package_models:MlpClassifier", *MODEL_FLAGS,
               "--format", "torchscript"]

        with self.subTest("not a checkpoint shape"):
            path = os.path.join(self.tmp, "no_key.pt")
            torch.save({"weights": torch.load(self.checkpoints["bare"]),
                        "epoch": 3}, path)
            self.refused(repo, "no_key", [
                "a dict without the key 'model_state_dict'",
                "'weights', 'epoch'", "understood: (1) a bare state_dict"],
                path, *mlp)

        with self.subTest("state_dict does not match the architecture"):
            state = torch.load(self.checkpoints["bare"])
            state["head.weight"] = state.pop("fc2.weight")  # renamed
            state["fc1.bias"] = torch.zeros(17)  # wrong shape
            path = os.path.join(self.tmp, "mismatch.pt")
            torch.save({"model_state_dict": state, "epoch": 1}, path)
            self.refused(repo, "mismatch", [
                "does not match the architecture",
                "missing keys: fc2.weight", "unexpected keys: head.weight",
                "fc1.bias: checkpoint [17] vs model [16]"], path, *mlp)

        with self.subTest("export differs from eager"):
            # ScriptedDiffers adds 1e-3 only when compiled by TorchScript
            # (torch.jit.is_scripting()): the exported program really
            # computes something else than the eager module, and the tool,
            # loading the export back, must see it.
            self.refused(repo, "differs", [
                "the exported model differs from eager PyTorch beyond "
                "--tolerance 1e-05", "worst: output 'OUTPUT__0' row",
                "(|difference| 0.001)"],
                self.checkpoints["bare"], "--model",
                "package_models:ScriptedDiffers", *MODEL_FLAGS,
                "--format", "torchscript")

        for fmt, detail in (
                ("torchscript", "refuses a batch of 1 row: RuntimeError: "
                                "shape '[8, -1]' is invalid"),
                ("aoti", "specialized it to be a constant (8)")):
            with self.subTest("static batch dimension", format=fmt):
                # StaticBatch does x.reshape(8, -1): 8 example rows export,
                # any other batch size does not run.
                self.refused(repo, f"static_{fmt}", [
                    "the batch dimension did not export as dynamic", detail,
                    "x.reshape(x.shape[0], -1)"],
                    self.checkpoints["bare"], "--model",
                    "package_models:StaticBatch", *MODEL_FLAGS,
                    "--format", fmt, "--validation-rows", "8")

        with self.subTest("still in training mode"):
            self.refused(repo, "stuck", [
                "still in training mode after .eval(): (the model)"],
                self.checkpoints["bare"], "--model",
                "package_models:StuckInTraining", *MODEL_FLAGS)

        with self.subTest("--normalize without statistics"):
            self.refused(repo, "no_stats", [
                "--normalize needs the input mean: the checkpoint has no "
                "'input_mean'"], self.checkpoints["train"], *mlp,
                "--normalize")

        # A published version, then attempts on it.
        rc, out = package(self.checkpoints["bare"], *mlp, "--repository",
                          repo, "--name", "published")
        self.assertEqual(rc, 0, out)
        before = snapshot(os.path.join(repo, "published"))
        with self.subTest("existing version"):
            self.refused(repo, "published", [
                f"version directory {repo}/published/1 already exists",
                "never overwritten"],
                self.checkpoints["train"], *mlp, "--version", "1")
        with self.subTest("contradicts the model's config.pbtxt"):
            self.refused(repo, "published", [
                "does not fit the model's existing",
                "output[0].name: config.pbtxt 'OUTPUT__0', this version "
                "'probs'"],
                self.checkpoints["train"], *mlp, "--output-name", "probs")
            self.refused(repo, "published", [
                "platform: config.pbtxt says pytorch_libtorch, this version "
                "is torch_aoti"],
                self.checkpoints["train"], *mlp[:-2], "--format", "aoti")
        self.assertEqual(snapshot(os.path.join(repo, "published")), before)
        self.assertEqual(sorted(os.listdir(repo)), ["published"])

    def test_publishing_never_replaces(self):
        # os.rename would silently replace an empty directory; the tool's
        # last step must not (a version that appeared meanwhile).
        sys.path.insert(0, os.path.dirname(TOOL))
        import inferd_package
        work = tempfile.mkdtemp(dir=self.tmp)
        for d in ("staged", "taken"):
            os.mkdir(os.path.join(work, d))
        open(os.path.join(work, "staged", "model.pt"), "w").close()
        with self.assertRaises(FileExistsError):
            inferd_package.rename_noreplace(os.path.join(work, "staged"),
                                            os.path.join(work, "taken"))
        self.assertEqual(os.listdir(os.path.join(work, "taken")), [])
        inferd_package.rename_noreplace(os.path.join(work, "staged"),
                                        os.path.join(work, "1"))
        self.assertEqual(os.listdir(os.path.join(work, "1")), ["model.pt"])

    # -------------------------------------------------------------- live swap

    def test_live_swap(self):
        repo = os.path.join(self.tmp, "live")
        os.mkdir(repo)
        flags = ["--model", "package_models:MlpClassifier", *MODEL_FLAGS,
                 "--format", "torchscript", "--repository", repo,
                 "--name", "live"]
        rc, out = package(self.checkpoints["bare"], *flags)
        self.assertEqual(rc, 0, out)
        server = Server(repo, os.path.join(self.tmp, "live.log"),
                        "--model-control-mode=poll",
                        "--repository-poll-secs=1")
        stop = threading.Event()
        answers, failures, lock = [], [], threading.Lock()
        x = torch.randn(3, 4)
        expected = {"1": eager(self.checkpoints["bare"], x),
                    "2": eager(self.checkpoints["train"], x)}

        def client():
            stub = self.stub(port)
            while not stop.is_set():
                try:
                    got, version = self.infer(stub, "live", x)
                    with lock:
                        answers.append((version, got))
                except Exception as e:  # noqa: BLE001 (counted)
                    with lock:
                        failures.append(repr(e))
                time.sleep(0.002)

        threads = []
        try:
            port = server.port()
            server.wait_for(r"model live version 1 is READY")
            threads = [threading.Thread(target=client) for _ in range(2)]
            for t in threads:
                t.start()
            rc, out = package(self.checkpoints["train"], *flags)
            self.assertEqual(rc, 0, out)
            self.assertIn(f"published {repo}/live/2/model.pt", out)
            # Poll what clients see (bounded): answers from version 2.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    from_v2 = sum(1 for v, _ in answers if v == "2")
                if from_v2 >= 20:
                    break
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join()
            server.stop()
        self.assertEqual(failures, [], failures[:3])
        versions = {v for v, _ in answers}
        print(f"\nlive swap: {len(answers)} answers, " + ", ".join(
            f"{sum(1 for a, _ in answers if a == v)} from version {v}"
            for v in sorted(versions)) + f", {len(failures)} failed",
              file=sys.stderr)
        self.assertIn("2", versions, server.text())
        self.assertLessEqual(versions, {"1", "2"})
        for version, got in answers:
            np.testing.assert_allclose(got, expected[version], rtol=0,
                                       atol=TOLERANCE)
        self.assert_no_staging(repo)
        self.assertNotIn(".staging", server.text())  # the poller ignored it


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.path.isfile(
            os.path.join(sys.argv[1], "bin", "inferd")):
        sys.exit(f"usage: {sys.argv[0]} BUILD_DIR  (with BUILD_DIR/bin/inferd)")
    BUILD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
