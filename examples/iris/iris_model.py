"""The iris MLP's architecture as an importable class, for
tools/inferd_package.py (--model iris_model:IrisMlp --model-path examples/iris).

Equivalent to make_mlp() in train_export.py: an nn.Sequential of
Linear(4, 16), ReLU, Linear(16, 3), so its state_dict keys ("0.weight",
"0.bias", "2.weight", "2.bias") are those of the checkpoint's
model_state_dict.
"""
from torch import nn


class IrisMlp(nn.Sequential):
    def __init__(self, in_features: int = 4, hidden: int = 16,
                 classes: int = 3):
        super().__init__(nn.Linear(in_features, hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))
