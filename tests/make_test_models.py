"""Writes the small models the end-to-end tests need into a Triton-layout
repository: one per behaviour under test (every datatype, a model that
throws, NAME__INDEX mapping, no batch dimension, priority levels,
AOTInductor packages whose batch dimension starts at 2) and broken ones that
must be refused at load time (among them .pt2 packages with a static batch
dimension, for a CPU this machine is not, or from another PyTorch version).
The iris and mlp examples and the model zoo are exported by their own
scripts (see tests/make_test_models.sh).

Usage: .venv/bin/python tests/make_test_models.py --repository DIR
           --broken-repository DIR2 --big-repository DIR3
DIR gets only good models; DIR2 gets the broken ones plus one good model.
"""
import argparse
import json
import os
import sys
import zipfile
from typing import Tuple

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
import inferd_export  # noqa: E402


def write(repo: str, name: str, config: str, module=None, raw: bytes = None,
          training: bool = False):
    os.makedirs(os.path.join(repo, name, "1"), exist_ok=True)
    with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
        f.write(config)
    path = os.path.join(repo, name, "1", "model.pt")
    if module is not None:
        module.train(training)
        torch.jit.save(torch.jit.script(module), path)
    else:
        with open(path, "wb") as f:
            f.write(raw)


class Identity(torch.nn.Module):
    """Returns every input unchanged (as new tensors)."""

    def forward(self, b: torch.Tensor, u8: torch.Tensor, i8: torch.Tensor,
                i16: torch.Tensor, i32: torch.Tensor, i64: torch.Tensor,
                f16: torch.Tensor, f32: torch.Tensor, f64: torch.Tensor,
                bf16: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor]:
        return (b.clone(), u8.clone(), i8.clone(), i16.clone(), i32.clone(),
                i64.clone(), f16.clone(), f32.clone(), f64.clone(),
                bf16.clone())


DTYPES = [("b", "BOOL"), ("u8", "UINT8"), ("i8", "INT8"), ("i16", "INT16"),
          ("i32", "INT32"), ("i64", "INT64"), ("f16", "FP16"),
          ("f32", "FP32"), ("f64", "FP64"), ("bf16", "BF16")]


def dtypes_config() -> str:
    inputs = ",\n".join(
        f'  {{ name: "{n}" data_type: TYPE_{t} dims: [ 2 ] }}' for n, t in DTYPES)
    outputs = ",\n".join(
        f'  {{ name: "OUTPUT__{i}" data_type: TYPE_{t} dims: [ 2 ] }}'
        for i, (_, t) in enumerate(DTYPES))
    return (f'name: "dtypes"\nplatform: "pytorch_libtorch"\nmax_batch_size: 8\n'
            f'input [\n{inputs}\n]\noutput [\n{outputs}\n]\n')


class Thrower(torch.nn.Module):
    """Doubles x, but raises when any element is negative."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x < 0).any()):
            raise RuntimeError("negative input not allowed")
        return x * 2


class SumDiff(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        return a + b, a - b


class Flatten(torch.nn.Module):
    """No batch dimension: [2, 3] -> [6]."""

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        return m.reshape(6) + 1


class ModeProbe(torch.nn.Module):
    """Reports, per row, [self.training, torch.is_grad_enabled()]: the server
    must run it in eval mode with gradients off although it was saved in
    training mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flags = torch.tensor([float(self.training),
                              float(torch.is_grad_enabled())])
        return flags.unsqueeze(0).expand(x.shape[0], 2) + x * 0


class WrongWidth(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x], dim=1)


def simple_config(name, inputs, outputs, extra="", max_batch_size=8,
                  platform="pytorch_libtorch"):
    ins = ",\n".join(f'  {{ name: "{n}" data_type: TYPE_FP32 dims: [ {d} ] }}'
                     for n, d in inputs)
    outs = ",\n".join(f'  {{ name: "{n}" data_type: TYPE_FP32 dims: [ {d} ] }}'
                      for n, d in outputs)
    return (f'name: "{name}"\nplatform: "{platform}"\n'
            f'max_batch_size: {max_batch_size}\n'
            f'input [\n{ins}\n]\noutput [\n{outs}\n]\n{extra}')


class Affine(torch.nn.Module):
    """y = x W + b, 3 -> 2: rows are independent, as batching assumes."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def write_package(repo, name, program, configs, config_text, x=None,
                  module=None):
    """Compiles `program` into <repo>/<name>/1/model.pt2 with inductor
    `configs`, and validation data when `x` is given."""
    version_dir = os.path.join(repo, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    path = os.path.join(version_dir, "model.pt2")
    torch._inductor.aoti_compile_and_package(program, package_path=path,
                                             inductor_configs=configs)
    with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
        f.write(config_text)
    if x is not None:
        (y,) = inferd_export.eager_outputs(module, (x,))
        inferd_export.write_validation(version_dir, {"x": x, "y": y})
    return path


def rewrite_package_metadata(source, target, **changes):
    """Copies the package `source` to `target` with its metadata JSON files
    changed (what a package built elsewhere would carry)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("_metadata.json"):
                metadata = json.loads(data)
                metadata.update(changes)
                data = json.dumps(metadata).encode()
            zout.writestr(item, data)


def aoti_models(repo, broken):
    """The .pt2 packages of the AOTInductor backend's tests."""
    module = Affine().eval()
    x = torch.randn(6, 3)
    version = {"aot_inductor.metadata": {"torch_version": torch.__version__}}
    dynamic = torch.export.export(
        module, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    # Exported as most users do: the package's input check refuses 1 row
    # (torch.export specializes sizes 0 and 1); inferd pads 1-row batches.
    good = write_package(
        repo, "aoti_from_two", dynamic, version,
        simple_config("aoti_from_two", [("x", 3)], [("y", 2)],
                      "dynamic_batching { max_queue_delay_microseconds: 0 }\n",
                      platform="torch_aoti"), x, module)
    # Broken: exported with a static batch of 1, served with batching.
    static = torch.export.export(module, (x[:1],))
    write_package(broken, "aoti_static_batch", static, version,
                  simple_config("aoti_static_batch", [("x", 3)], [("y", 2)],
                                platform="torch_aoti"))
    for name, changes in (("aoti_other_cpu", {"AOTI_CPU_ISA": "AVX10_2"}),
                          ("aoti_other_torch", {"torch_version": "2.6.0"})):
        rewrite_package_metadata(good, os.path.join(broken, name, "1",
                                                    "model.pt2"), **changes)
        with open(os.path.join(broken, name, "config.pbtxt"), "w") as f:
            f.write(simple_config(name, [("x", 3)], [("y", 2)],
                                  platform="torch_aoti"))
    write(broken, "aoti_not_a_package",
          simple_config("aoti_not_a_package", [("x", 3)], [("y", 2)],
                        'default_model_filename: "model.pt"\n',
                        platform="torch_aoti"),
          raw=b"this is not an AOTInductor package")


class AddOne(torch.nn.Module):
    """y = x + 1: each row's answer names the request it came from."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


# Triton's schedule policy (tests/e2e_priority_test.cc): three levels, the
# default 2; level 1 lets a request shorten its 60 s queue timeout; level 3
# holds at most 4 requests. One row per batch, so the order in which the
# queue is served is the order of execution.
PRIORITY_BATCHING = """dynamic_batching {
  max_queue_delay_microseconds: 0
  priority_levels: 3
  default_priority_level: 2
  priority_queue_policy {
    key: 1
    value { default_timeout_microseconds: 60000000 allow_timeout_override: true }
  }
  priority_queue_policy { key: 3 value { max_queue_size: 4 } }
}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repository", required=True)
    parser.add_argument("--broken-repository", required=True)
    parser.add_argument("--big-repository", required=True)
    args = parser.parse_args()
    repo, broken = args.repository, args.broken_repository
    torch.manual_seed(0)

    write(repo, "dtypes", dtypes_config(), Identity())
    write(repo, "thrower",
          simple_config("thrower", [("x", 2)], [("y", 2)],
                        "dynamic_batching { max_queue_delay_microseconds: 0 }\n"),
          Thrower())
    # Outputs declared out of order: OUTPUT__1 must still be a - b.
    write(repo, "sumdiff",
          simple_config("sumdiff", [("INPUT__0", 3), ("INPUT__1", 3)],
                        [("OUTPUT__1", 3), ("OUTPUT__0", 3)]),
          SumDiff())
    write(repo, "mode_probe",
          simple_config("mode_probe", [("x", 2)], [("flags", 2)]),
          ModeProbe(), training=True)
    write(repo, "nobatch",
          simple_config("nobatch", [("m", "2, 3")], [("flat", 6)],
                        max_batch_size=0),
          Flatten())
    write(repo, "priority",
          simple_config("priority", [("x", 1)], [("y", 1)], PRIORITY_BATCHING,
                        max_batch_size=1),
          AddOne())
    # Broken on purpose: each must fail to load with a reason, and must not
    # stop the good model beside them.
    write(broken, "thrower",
          simple_config("thrower", [("x", 2)], [("y", 2)]), Thrower())
    write(broken, "broken_shape",
          simple_config("broken_shape", [("x", 3)], [("y", 3)]), WrongWidth())
    write(broken, "broken_input_name",
          simple_config("broken_input_name", [("features", 2)], [("y", 2)]),
          Thrower())
    write(broken, "broken_archive",
          simple_config("broken_archive", [("x", 2)], [("y", 2)]),
          raw=b"this is not a TorchScript archive")
    write(broken, "broken_config",
          simple_config("broken_config", [("x", 2)], [("y", 2)],
                        max_batch_size=-3), Thrower())
    aoti_models(repo, broken)
    # 64 MiB of weights in one tensor, to see unload give memory back.
    big = torch.nn.Linear(4096, 4096, bias=False)
    write(args.big_repository, "big",
          simple_config("big", [("input", 4096)], [("y", 4096)]), big)
    print(f"test models written to {repo}, {broken}, {args.big_repository}")


if __name__ == "__main__":
    main()
