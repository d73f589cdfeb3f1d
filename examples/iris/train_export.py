"""Train a small MLP on the iris data set and export it for inferd.

Writes a TRAINING checkpoint (torch.save dict) to --checkpoint and two
INFERENCE model repository entries with the same weights:
  <repo>/<name>/        TorchScript (model.pt, platform pytorch_libtorch)
  <repo>/<name>_aoti/   torch.export + AOTInductor (model.pt2, torch_aoti)
each with {config.pbtxt,labels.txt,normalization.json} and
<version>/validation/*.bin. The models take RAW features; normalisation and
softmax happen inside them.

Run it on the project's venv: .venv/bin/python examples/iris/train_export.py
"""
import argparse
import json
import os
import random

import sys

import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "python"))
import inferd_export  # noqa: E402

CONFIG_TEMPLATE = """name: "{name}"
platform: "{platform}"
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

    # Inference artifacts: the wrapper with normalisation + softmax, as
    # TorchScript and as an AOTInductor package.
    wrapper = IrisClassifier(mlp, mean, std).eval()
    features = torch.from_numpy(x_all)
    (probs,) = inferd_export.eager_outputs(wrapper, (features,))
    predicted = probs.numpy().argmax(axis=1)
    for fmt, name in (("torchscript", args.model_name),
                      ("aoti", args.model_name + "_aoti")):
        model_dir = os.path.join(repo, name)
        version_dir = os.path.join(model_dir, str(args.version))
        os.makedirs(version_dir, exist_ok=True)
        model_file = os.path.join(version_dir, inferd_export.FILENAME[fmt])
        inferd_export.export(wrapper, (features,), model_file, fmt,
                             max_batch_size=64)
        with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
            f.write(CONFIG_TEMPLATE.format(name=name,
                                           platform=inferd_export.PLATFORM[fmt]))
        with open(os.path.join(model_dir, "labels.txt"), "w") as f:
            f.write("".join(f"{c}\n" for c in iris.target_names))
        with open(os.path.join(model_dir, "normalization.json"), "w") as f:
            json.dump({"feature_names": list(iris.feature_names),
                       "mean": mean.tolist(), "std": std.tolist(),
                       "note": "applied inside the model; send raw "
                               "(un-normalised) features"},
                      f, indent=2)
            f.write("\n")
        # Validation tensors: all 150 raw rows and the EAGER wrapper's outputs.
        inferd_export.write_validation(version_dir, {
            "features": features, "probabilities": probs,
            "predicted": predicted.astype(np.int64)})
        print(f"exported {model_file}; validation: {len(x_all)} rows, "
              f"agreement with labels {(predicted == y_all).mean():.4f}")
    print(f"checkpoint {checkpoint}")


if __name__ == "__main__":
    main()
