"""Test models for tests/package_test.py (imported by tools/inferd_package.py
through --model package_models:CLASS --model-path tests)."""
import torch
from torch import nn


class MlpClassifier(nn.Module):
    """Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear: eval mode differs
    from training mode (BatchNorm's running statistics, Dropout)."""

    def __init__(self, in_features: int = 4, hidden: int = 16,
                 classes: int = 3):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(hidden, classes)
        # Running statistics far from the identity, as after training.
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1.0, 1.0)
            self.bn.running_var.uniform_(0.5, 2.0)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


class ScriptedDiffers(MlpClassifier):
    """Computes something else once compiled by TorchScript: under
    torch.jit.script, torch.jit.is_scripting() is True and the output is
    shifted by 1e-3, so the exported program honestly disagrees with the
    eager module (what a TorchScript-only code path, a custom op that
    scripts differently, or a mis-export would do)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.logits(x)
        if torch.jit.is_scripting():
            out = out + 1e-3
        return out


class StaticBatch(MlpClassifier):
    """Hard-codes a batch of 8 rows: x.reshape(8, -1) exports a static batch
    dimension."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x.reshape(8, -1))


class StuckInTraining(MlpClassifier):
    """Ignores .eval() (train(False)): stays in training mode, where its
    Dropout and BatchNorm compute what inference must not."""

    def train(self, mode: bool = True):
        return super().train(True)
