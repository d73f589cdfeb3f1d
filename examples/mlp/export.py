"""Export a seeded, untrained MLP benchmark model for inferd.

MLP 256 -> 1024 -> 1024 -> 10 (about 1.3M parameters): heavy enough on CPU
that dynamic batching makes a measurable difference. Writes two models with
identical weights into the repository:
    <repo>/mlp/          dynamic_batching enabled
    <repo>/mlp_nobatch/  no dynamic_batching block (baseline)
each with <version>/model.pt and <version>/validation/{x,logits}.bin.
"""
import argparse
import os

import numpy as np
import torch
from torch import nn

SEED = 0
VALIDATION_ROWS = 8

CONFIG_TEMPLATE = """name: "{name}"
platform: "pytorch_libtorch"
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


def write_bin(path: str, array: np.ndarray) -> None:
    # Little-endian float32, row-major raw bytes.
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repository", required=True, help="model repository root")
    p.add_argument("--max-batch-size", type=int, default=128)
    p.add_argument("--version", type=int, default=1)
    args = p.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = MLP().eval()
    scripted = torch.jit.script(model)

    # Validation inputs and the EAGER model's outputs for them.
    x = torch.randn(VALIDATION_ROWS, 256)
    with torch.no_grad():
        logits = model(x)

    for name, batching in (("mlp", DYNAMIC_BATCHING), ("mlp_nobatch", "")):
        model_dir = os.path.join(args.repository, name)
        val_dir = os.path.join(model_dir, str(args.version), "validation")
        os.makedirs(val_dir, exist_ok=True)
        torch.jit.save(scripted, os.path.join(model_dir, str(args.version), "model.pt"))
        with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
            f.write(CONFIG_TEMPLATE.format(name=name, batching=batching,
                                           max_batch_size=args.max_batch_size))
        write_bin(os.path.join(val_dir, "x.bin"), x.numpy())
        write_bin(os.path.join(val_dir, "logits.bin"), logits.numpy())
        print(f"exported {model_dir} (max_batch_size {args.max_batch_size}, "
              f"dynamic_batching {'on' if batching else 'off'})")


if __name__ == "__main__":
    main()
