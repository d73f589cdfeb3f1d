"""First-call latency of TorchScript models at each new batch size, with
LibTorch's TensorExpr fuser on and off (the decision behind inferd turning it
off; see bench/README.md, "TorchScript fuser").

A dynamic batcher forms batches of every size from 1 to max_batch_size. With
the fuser on, LibTorch's profiling executor specializes fused kernels to the
shapes it has seen and recompiles when a new one comes, so the first request
of each new batch size can stall; this measures that stall. It uses the
venv's torch: the same LibTorch library, executor and defaults inferd links.

  .venv/bin/python bench/first_call_latency.py [--model FILE --shape 256]

Without --model it measures the benchmark MLP and the zoo's transformer and
attention models exported to a temporary directory. Each configuration runs
in a fresh process (the fuser setting is process-wide).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCHES = [1, 2, 3, 5, 8, 13, 21, 34, 55, 64, 7, 33, 100, 128]


def measure(path, shape, fuser):
    """Worst and median first-call ms over BATCHES, after a warm-up like
    inferd's (two calls of one row), and the same for the second call."""
    torch.set_num_threads(1)
    torch._C._jit_set_texpr_fuser_enabled(fuser)
    module = torch.jit.freeze(torch.jit.load(path).eval())
    first, second = [], []
    with torch.inference_mode():
        for _ in range(2):
            module(torch.zeros([1] + shape))
        for rows in BATCHES:
            x = torch.randn([rows] + shape)
            for out in (first, second):
                start = time.perf_counter()
                module(x)
                out.append((time.perf_counter() - start) * 1e3)
    return first, second


def child(args):
    first, second = measure(args.model, args.shape, args.fuser == "on")
    print(" ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(first, second)))


def export_defaults(tmp):
    """The benchmark MLP and the zoo's attention models, as TorchScript."""
    python = sys.executable
    subprocess.run([python, os.path.join(ROOT, "examples/mlp/export.py"),
                    "--repository", tmp, "--formats", "torchscript"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([python, os.path.join(ROOT, "tests/make_model_zoo.py"),
                    "--repository", tmp, "--formats", "torchscript,traced"],
                   check=True, stdout=subprocess.DEVNULL)
    return [("mlp (scripted)", f"{tmp}/mlp/1/model.pt", [256]),
            ("transformer (scripted)", f"{tmp}/transformer_script/1/model.pt", [8, 32]),
            ("transformer (traced)", f"{tmp}/transformer_traced/1/model.pt", [8, 32]),
            ("attention (scripted)", f"{tmp}/attention_script/1/model.pt", [8, 32])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--shape", default="256",
                        help="per-row input shape, comma-separated")
    parser.add_argument("--fuser", choices=["on", "off"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.shape = [int(d) for d in args.shape.split(",")]
    if args.fuser:
        return child(args)
    print(f"torch {torch.__version__}; LLVM (CPU fusion) available: "
          f"{torch._C._llvm_enabled()}")
    print("| model | fuser | worst first call ms | median first call ms | "
          "worst repeat call ms |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        models = ([("model", args.model, args.shape)] if args.model
                  else export_defaults(tmp))
        for label, path, shape in models:
            for fuser in ("on", "off"):
                firsts, seconds = [], []
                for _ in range(args.repeat):
                    out = subprocess.run(
                        [sys.executable, __file__, "--model", path, "--shape",
                         ",".join(map(str, shape)), "--fuser", fuser],
                        check=True, capture_output=True, text=True).stdout
                    pairs = [p.split("/") for p in out.split()]
                    firsts += [float(a) for a, _ in pairs]
                    seconds += [float(b) for _, b in pairs]
                firsts.sort()
                print(f"| {label} | {fuser} | {max(firsts):.2f} | "
                      f"{firsts[len(firsts) // 2]:.2f} | {max(seconds):.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
