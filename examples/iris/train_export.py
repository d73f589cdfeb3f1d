"""Train a small MLP on the iris data set and export it for inferd.

Writes a TRAINING checkpoint (torch.save dict) to --checkpoint and an INFERENCE
model repository entry: <repo>/<name>/{config.pbtxt,labels.txt,normalization.json}
and <repo>/<name>/<version>/{model.pt,validation/*.bin}. model.pt takes RAW
features; normalisation and softmax happen inside it.
"""
import argparse
import json
import os
import random

import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

CONFIG_TEMPLATE = """name: "{name}"
platform: "pytorch_libtorch"
max_batch_size: 64
input [
  {{
    name: "features"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }}
]
output [
  {{
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ 3 ]
    label_filename: "labels.txt"
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: 200
}}
instance_group [
  {{
    kind: KIND_CPU
    count: 1
  }}
]
"""


def make_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


class IrisClassifier(nn.Module):
    """Inference wrapper: raw features -> class probabilities."""

    def __init__(self, mlp: nn.Module, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.mlp = mlp
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    # The argument name must match the config input name ("features").
    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.mlp((features - self.mean) / self.std)
        return torch.softmax(logits, dim=1)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def write_bin(path: str, array: np.ndarray, dtype: str) -> None:
    # Little-endian, row-major raw bytes.
    np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tofile(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repository", required=True, help="model repository root")
    p.add_argument("--checkpoint", help="default: <repository>/../iris_checkpoint.pt")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-name", default="iris")
    args = p.parse_args()
    repo = os.path.abspath(args.repository)
    checkpoint = args.checkpoint or os.path.join(os.path.dirname(repo), "iris_checkpoint.pt")

    # Determinism: seed everything, single thread.
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    iris = load_iris()
    x_all = iris.data.astype(np.float32)
    y_all = iris.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x_all, y_all, test_size=0.2, stratify=y_all, random_state=args.seed)

    # Normalisation statistics from the TRAINING split only.
    mean = torch.from_numpy(x_tr.mean(axis=0))
    std = torch.from_numpy(x_tr.std(axis=0))
    norm = lambda a: (torch.from_numpy(a) - mean) / std
    xtr, xte, ytr, yte = norm(x_tr), norm(x_te), torch.from_numpy(y_tr), torch.from_numpy(y_te)

    # Full-batch Adam training.
    mlp = make_mlp()
    opt = torch.optim.Adam(mlp.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        opt.zero_grad()
        loss = loss_fn(mlp(xtr), ytr)
        loss.backward()
        opt.step()
    mlp.eval()
    metrics = {"train_accuracy": accuracy(mlp, xtr, ytr),
               "test_accuracy": accuracy(mlp, xte, yte),
               "final_loss": loss.item()}
    print(f"train acc {metrics['train_accuracy']:.4f}  test acc {metrics['test_accuracy']:.4f}"
          f"  final loss {metrics['final_loss']:.4f}")

    # Training artifact.
    os.makedirs(os.path.dirname(os.path.abspath(checkpoint)), exist_ok=True)
    torch.save({"model_state_dict": mlp.state_dict(),
                "optimizer_state_dict": opt.state_dict(),
                "epoch": args.epochs,
                "metrics": metrics,
                "feature_mean": mean, "feature_std": std,
                "feature_names": list(iris.feature_names),
                "class_names": list(iris.target_names)}, checkpoint)

    # Inference artifact: scripted wrapper with normalisation + softmax.
    model_dir = os.path.join(repo, args.model_name)
    version_dir = os.path.join(model_dir, str(args.version))
    val_dir = os.path.join(version_dir, "validation")
    os.makedirs(val_dir, exist_ok=True)
    wrapper = IrisClassifier(mlp, mean, std).eval()
    torch.jit.save(torch.jit.script(wrapper), os.path.join(version_dir, "model.pt"))

    with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
        f.write(CONFIG_TEMPLATE.format(name=args.model_name))
    with open(os.path.join(model_dir, "labels.txt"), "w") as f:
        f.write("".join(f"{c}\n" for c in iris.target_names))
    with open(os.path.join(model_dir, "normalization.json"), "w") as f:
        json.dump({"feature_names": list(iris.feature_names),
                   "mean": mean.tolist(), "std": std.tolist(),
                   "note": "applied inside model.pt; send raw (un-normalised) features"},
                  f, indent=2)
        f.write("\n")

    # Validation tensors: all 150 raw rows and the EAGER wrapper's outputs.
    with torch.no_grad():
        probs = wrapper(torch.from_numpy(x_all)).numpy()
    predicted = probs.argmax(axis=1)
    write_bin(os.path.join(val_dir, "features.bin"), x_all, "float32")
    write_bin(os.path.join(val_dir, "probabilities.bin"), probs, "float32")
    write_bin(os.path.join(val_dir, "predicted.bin"), predicted, "int64")
    print(f"exported {version_dir}/model.pt; validation: {len(x_all)} rows, "
          f"agreement with labels {(predicted == y_all).mean():.4f}; checkpoint {checkpoint}")


if __name__ == "__main__":
    main()
