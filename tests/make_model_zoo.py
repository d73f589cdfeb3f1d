"""Writes the model zoo the end-to-end tests serve: the kinds of model people
train today, each exported by the pinned PyTorch in all three forms inferd
serves (scripted TorchScript, traced TorchScript, torch.export + AOTInductor
.pt2), with validation data from the eager model's outputs.

  <repo>/<kind>_<format>/   kind: mlp, cnn, transformer, attention
                            format: script, traced, aoti

  mlp          Linear/ReLU layers
  cnn          Conv2d, BatchNorm2d (with running statistics) and Dropout: the
               eval-mode outputs differ from training mode, so an export
               taken in training mode fails its validation gate
  transformer  nn.TransformerEncoderLayer classifier (scaled dot-product
               attention inside)
  attention    multi-head attention calling F.scaled_dot_product_attention
               directly (what LibTorch 1.13 could not load)

Usage: .venv/bin/python tests/make_model_zoo.py --repository DIR
"""
import argparse
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
import inferd_export  # noqa: E402

# torch 2.14's AOTInductor bounds the CNN's batch at 15 rows: while compiling
# it meets a guard "batch >= 16" from a CPU kernel's choice and, exported with
# fewer rows, refuses 16 or more. inferd's load probe names that limit; the
# zoo stays below it.
MAX_BATCH_SIZE = 8
VALIDATION_ROWS = 8
FORMAT_SUFFIX = {"torchscript": "script", "traced": "traced", "aoti": "aoti"}


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32),
                                 nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, 5)
        # Running statistics far from the identity, as after training.
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1.0, 1.0)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(F.relu(self.bn(self.conv(x))))
        return torch.softmax(self.head(h.mean(dim=(2, 3))), dim=1)


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.TransformerEncoderLayer(
            d_model=32, nhead=4, dim_feedforward=64, dropout=0.1,
            batch_first=True)
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(self.encoder(x).mean(dim=1)), dim=1)


class Attention(nn.Module):
    def __init__(self, dim: int = 32, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
        k = k.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
        v = v.reshape(b, s, self.heads, d // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v)
        h = self.out(a.transpose(1, 2).reshape(b, s, d))
        return torch.softmax(self.head(h.mean(dim=1)), dim=1)


# kind -> (module factory, per-row input shape, output width)
KINDS = {
    "mlp": (Mlp, [12], 4),
    "cnn": (Cnn, [1, 16, 16], 5),
    "transformer": (Transformer, [8, 32], 3),
    "attention": (Attention, [8, 32], 3),
}


def config(name, platform, in_dims, out_width):
    dims = ", ".join(str(d) for d in in_dims)
    return f"""name: "{name}"
platform: "{platform}"
max_batch_size: {MAX_BATCH_SIZE}
input [ {{ name: "INPUT__0" data_type: TYPE_FP32 dims: [ {dims} ] }} ]
output [ {{ name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ {out_width} ] }} ]
dynamic_batching {{ max_queue_delay_microseconds: 2000 }}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True)
    parser.add_argument("--formats", default="torchscript,traced,aoti")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    for kind, (factory, in_dims, out_width) in KINDS.items():
        module = factory().eval()
        x = torch.randn([VALIDATION_ROWS] + in_dims)
        (expected,) = inferd_export.eager_outputs(module, (x,))
        for fmt in args.formats.split(","):
            name = f"{kind}_{FORMAT_SUFFIX[fmt]}"
            version_dir = os.path.join(args.repository, name, "1")
            os.makedirs(version_dir, exist_ok=True)
            inferd_export.export(module, (x,), os.path.join(
                version_dir, inferd_export.FILENAME[fmt]), fmt, MAX_BATCH_SIZE)
            with open(os.path.join(args.repository, name, "config.pbtxt"),
                      "w") as f:
                f.write(config(name, inferd_export.PLATFORM[fmt], in_dims,
                               out_width))
            inferd_export.write_validation(
                version_dir, {"INPUT__0": x, "OUTPUT__0": expected})
            print(f"zoo: {name}", flush=True)


if __name__ == "__main__":
    main()
