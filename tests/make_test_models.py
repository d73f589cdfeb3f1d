"""Writes the small TorchScript models the end-to-end tests need into a
Triton-layout repository: one per behaviour under test (every datatype, a
model that throws, NAME__INDEX mapping, no batch dimension) and broken ones
that must be refused at load time. The iris and mlp examples are exported by
their own scripts (see tests/CMakeLists.txt).

Usage: make_test_models.py --repository DIR --broken-repository DIR2
DIR gets only good models; DIR2 gets the broken ones plus one good model.
"""
import argparse
import os
from typing import Tuple

import torch


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


def simple_config(name, inputs, outputs, extra="", max_batch_size=8):
    ins = ",\n".join(f'  {{ name: "{n}" data_type: TYPE_FP32 dims: [ {d} ] }}'
                     for n, d in inputs)
    outs = ",\n".join(f'  {{ name: "{n}" data_type: TYPE_FP32 dims: [ {d} ] }}'
                      for n, d in outputs)
    return (f'name: "{name}"\nplatform: "pytorch_libtorch"\n'
            f'max_batch_size: {max_batch_size}\n'
            f'input [\n{ins}\n]\noutput [\n{outs}\n]\n{extra}')


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
    # 64 MiB of weights in one tensor, to see unload give memory back.
    big = torch.nn.Linear(4096, 4096, bias=False)
    write(args.big_repository, "big",
          simple_config("big", [("input", 4096)], [("y", 4096)]), big)
    print(f"test models written to {repo}, {broken}, {args.big_repository}")


if __name__ == "__main__":
    main()
