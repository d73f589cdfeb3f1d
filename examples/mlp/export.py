"""Export a seeded, untrained MLP benchmark model for inferd.

MLP 256 -> 1024 -> 1024 -> 10 (about 1.3M parameters): heavy enough on CPU
that dynamic batching makes a measurable difference. Writes three models
with identical weights into the repository:
    <repo>/mlp/          TorchScript, dynamic_batching enabled
    <repo>/mlp_nobatch/  TorchScript, no dynamic_batching block (baseline)
    <repo>/mlp_aoti/     AOTInductor package (.pt2), dynamic_batching enabled
each with <version>/model.pt[2] and <version>/validation/{x,logits}.bin.
--formats torchscript leaves out the package (it takes ~15 s to compile).

Run it on the project's venv: .venv/bin/python examples/mlp/export.py
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "python"))
import inferd_export  # noqa: E402

SEED = 0
VALIDATION_ROWS = 8

CONFIG_TEMPLATE = """name: "{name}"
platform: "{platform}"
max_batch_size: {max_batch_size}
input [
  {{
    name: "x"
    data_type: TYPE_FP32
    dims: [ 256 ]
  }}
]
output [
  {{
    name: "logits"
    data_type: TYPE_FP32
    dims: [ 10 ]
  }}
]
{batching}instance_group [
  {{
    kind: KIND_CPU
    count: 1
  }}
]
"""

DYNAMIC_BATCHING = """dynamic_batching {
  max_queue_delay_microseconds: 500
}
"""


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(256, 1024), nn.ReLU(),
            nn.Linear(1024, 1024), nn.ReLU(),
            nn.Linear(1024, 10))

    # The argument name must match the config input name ("x").
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repository", required=True, help="model repository root")
    p.add_argument("--max-batch-size", type=int, default=128)
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--formats", default="torchscript,aoti",
                   help="comma-separated: torchscript, aoti")
    args = p.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = MLP().eval()

    # Validation inputs and the EAGER model's outputs for them.
    x = torch.randn(VALIDATION_ROWS, 256)
    (logits,) = inferd_export.eager_outputs(model, (x,))

    models = [("mlp", "torchscript", DYNAMIC_BATCHING),
              ("mlp_nobatch", "torchscript", ""),
              ("mlp_aoti", "aoti", DYNAMIC_BATCHING)]
    for name, fmt, batching in models:
        if fmt not in args.formats.split(","):
            continue
        model_dir = os.path.join(args.repository, name)
        version_dir = os.path.join(model_dir, str(args.version))
        os.makedirs(version_dir, exist_ok=True)
        inferd_export.export(model, (x,), os.path.join(
            version_dir, inferd_export.FILENAME[fmt]), fmt, args.max_batch_size)
        with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
            f.write(CONFIG_TEMPLATE.format(
                name=name, batching=batching, max_batch_size=args.max_batch_size,
                platform=inferd_export.PLATFORM[fmt]))
        inferd_export.write_validation(version_dir, {"x": x, "logits": logits})
        print(f"exported {model_dir} ({fmt}, max_batch_size "
              f"{args.max_batch_size}, dynamic_batching "
              f"{'on' if batching else 'off'})")


if __name__ == "__main__":
    main()
