"""Train a small MLP on the iris data set, save the checkpoint, and publish
it to inferd through tools/inferd_package.py.

Writes a TRAINING checkpoint (torch.save dict: model_state_dict,
model_config, optimizer_state_dict, epoch, metrics, feature_mean,
feature_std, feature_names, class_names) to --checkpoint, then publishes two
model versions from it with the packaging tool, the normalisation and the
softmax folded in (the models take RAW features):
  <repo>/<name>/        TorchScript (model.pt, platform pytorch_libtorch)
  <repo>/<name>_aoti/   torch.export + AOTInductor (model.pt2, torch_aoti)
each with config.pbtxt, labels.txt, normalization.json (for reference) and
<version>/validation/ holding all 150 iris rows and the eager outputs for
them, which inferd's validation gate checks at load.

Run it on the project's venv: .venv/bin/python examples/iris/train_export.py
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from iris_model import IrisMlp  # noqa: E402

def publish(checkpoint, rows_file, repo, name, fmt, version):
    """Publishes `checkpoint` as version `version` of `name` with the
    packaging tool; every iris row is an example its validation data holds."""
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "inferd_package.py"),
         checkpoint, "--model", "iris_model:IrisMlp", "--model-path", HERE,
         "--example-inputs", rows_file,
         "--input-name", "features", "--output-name", "probabilities",
         "--normalize", "--mean-key", "feature_mean",
         "--std-key", "feature_std", "--softmax",
         "--format", fmt, "--max-batch-size", "64",
         "--max-queue-delay-us", "200",
         "--repository", repo, "--name", name, "--version", str(version)],
        check=True)


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
    config = {"in_features": 4, "hidden": 16, "classes": 3}
    mlp = IrisMlp(**config)
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

    # The training artifact: what the PyTorch documentation recommends
    # saving, and all the packaging tool needs.
    os.makedirs(os.path.dirname(os.path.abspath(checkpoint)), exist_ok=True)
    torch.save({"model_state_dict": mlp.state_dict(),
                "model_config": config,
                "optimizer_state_dict": opt.state_dict(),
                "epoch": args.epochs,
                "metrics": metrics,
                "feature_mean": mean, "feature_std": std,
                "feature_names": [str(n) for n in iris.feature_names],
                "class_names": [str(c) for c in iris.target_names]}, checkpoint)

    # The inference artifacts, published by the packaging tool.
    os.makedirs(repo, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = os.path.join(tmp, "iris_rows.pt")
        torch.save(torch.from_numpy(x_all), rows_file)
        for fmt, name in (("torchscript", args.model_name),
                          ("aoti", args.model_name + "_aoti")):
            publish(checkpoint, rows_file, repo, name, fmt, args.version)
            with open(os.path.join(repo, name, "normalization.json"), "w") as f:
                json.dump({"feature_names": list(iris.feature_names),
                           "mean": mean.tolist(), "std": std.tolist(),
                           "note": "applied inside the model; send raw "
                                   "(un-normalised) features"},
                          f, indent=2)
                f.write("\n")
    print(f"checkpoint {checkpoint}")


if __name__ == "__main__":
    main()
