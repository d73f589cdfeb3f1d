"""What the project's exporters share: writing a model version in either of
the formats inferd serves, with the validation data its gate checks.

Formats:
  "torchscript"  model.pt  (torch.jit.script), platform "pytorch_libtorch"
  "traced"       model.pt  (torch.jit.trace),  platform "pytorch_libtorch"
  "aoti"         model.pt2 (torch.export + AOTInductor), platform "torch_aoti"

Every module is put in eval mode first, and exported with gradients off.
Runs on the project's venv (.venv/bin/python), whose torch is the LibTorch
inferd links: a .pt2 package only loads in the PyTorch version that built it.
"""
import os

import numpy as np
import torch

FORMATS = ("torchscript", "traced", "aoti")
PLATFORM = {"torchscript": "pytorch_libtorch", "traced": "pytorch_libtorch",
            "aoti": "torch_aoti"}
FILENAME = {"torchscript": "model.pt", "traced": "model.pt", "aoti": "model.pt2"}


def export(module, example_inputs, path, fmt, max_batch_size=0):
    """Writes `module` to `path` in format `fmt`.

    example_inputs: a tuple of tensors, one per forward() argument, with a
    leading batch dimension when max_batch_size > 0 (tracing and torch.export
    run the module on them). For "aoti", dimension 0 of every input is
    exported dynamic up to max_batch_size, and the package records the
    PyTorch version that built it (inferd refuses other versions with a
    message instead of a dlopen error). max_batch_size only says whether the
    first dimension is a batch dimension.
    """
    module.eval()
    with torch.no_grad():
        if fmt == "torchscript":
            torch.jit.save(torch.jit.script(module), path)
        elif fmt == "traced":
            torch.jit.save(torch.jit.trace(module, tuple(example_inputs)), path)
        elif fmt == "aoti":
            export_aoti(module, example_inputs, path, max_batch_size)
        else:
            raise ValueError(f"format {fmt!r}: expected one of {FORMATS}")


def export_aoti(module, example_inputs, path, max_batch_size):
    """torch.export + AOTInductor package (.pt2); see export()."""
    dynamic_shapes = None
    if max_batch_size > 0:
        # No upper bound: inferd's max_batch_size is the limit, and inferd
        # checks at load that the package takes that many rows.
        batch = torch.export.Dim("batch", min=1)
        dynamic_shapes = tuple({0: batch} for _ in example_inputs)
    program = torch.export.export(module, tuple(example_inputs),
                                  dynamic_shapes=dynamic_shapes)
    torch._inductor.aoti_compile_and_package(
        program, package_path=path,
        # The package's own input checks stay as compiled: torch.export
        # specializes sizes 0 and 1, so a dynamic batch dimension starts at 2
        # rows and inferd pads 1-row batches to 2. Switching the lower-bound
        # check off (aot_inductor.check_lowerbound) would also hide bounds
        # that matter: AOTInductor ignores some shape guards it meets while
        # compiling ("Ignored guard s77 >= 16") and bounds the batch instead.
        inductor_configs={
            "aot_inductor.metadata": {"torch_version": torch.__version__},
        })


def write_bin(path, array):
    """Raw little-endian, row-major bytes: the validation gate's format."""
    array = np.asarray(array)
    np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tofile(path)


def write_validation(version_dir, tensors):
    """Writes <version_dir>/validation/<name>.bin for each name -> tensor or
    array (the inputs fed and the eager outputs they gave)."""
    val_dir = os.path.join(version_dir, "validation")
    os.makedirs(val_dir, exist_ok=True)
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        write_bin(os.path.join(val_dir, f"{name}.bin"), value)


def eager_outputs(module, example_inputs):
    """The eval-mode eager outputs for `example_inputs`, as a tuple."""
    module.eval()
    with torch.no_grad():
        out = module(*example_inputs)
    return out if isinstance(out, tuple) else (out,)
