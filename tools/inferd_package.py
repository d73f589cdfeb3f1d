"""From a PyTorch checkpoint to a served, proven model version in one command.

Turns a checkpoint into a complete model version in a Triton-layout inferd
repository:

  <repository>/<name>/config.pbtxt          (only when the model has none)
  <repository>/<name>/labels.txt            (only when there are class names)
  <repository>/<name>/<version>/model.pt2   (--format aoti, the default)
                               /model.pt    (--format torchscript / traced)
  <repository>/<name>/<version>/validation/<input>.bin, <output>.bin

The checkpoint may be a bare state_dict, a training checkpoint
({"model_state_dict", "optimizer_state_dict", "epoch", ...}) or an inference
package ({"model_state_dict", "model_config", "input_mean", "input_std",
"class_names"}); it is read with torch.load(weights_only=True), so it cannot
run code. The model is rebuilt from its class (--model module:Class) with the
checkpoint's model_config (and --model-arg), put in eval mode, optionally
wrapped with the input normalisation and a softmax, exported, loaded back
and proven before anything is published: the exported model must match eager
PyTorch within --tolerance on the example rows, on one row and on a batch, and
take every batch size up to --max-batch-size. The version is built in a
hidden staging directory inside the repository and renamed into place, so a
server polling the repository never sees it half-written; an existing version
is never overwritten.

Exit status: 0 published; 2 refused (one message saying why; nothing
published); 1 an unexpected error (nothing published).

Run it on the project's venv (the PyTorch that inferd links; a .pt2 only
loads in the version that built it):

  .venv/bin/python tools/inferd_package.py CHECKPOINT.pt \\
      --model my_models:Classifier --model-path src \\
      --input-shape 4 --repository models --name classifier
"""
import argparse
import ast
import contextlib
import copy
import functools
import importlib
import os
import re
import shutil
import sys
import tempfile
import warnings

import torch
from google.protobuf import text_format
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import inferd_export  # noqa: E402
import inferd_protos  # noqa: E402

PROG = "inferd_package"
# TorchScript is what inferd serves as model.pt; torch's deprecation notice
# for it is no news to the user of this tool.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated")

# torch dtype name -> (torch dtype, config.pbtxt data_type)
DTYPES = {
    "float32": (torch.float32, "TYPE_FP32"),
    "float64": (torch.float64, "TYPE_FP64"),
    "float16": (torch.float16, "TYPE_FP16"),
    "bfloat16": (torch.bfloat16, "TYPE_BF16"),
    "int64": (torch.int64, "TYPE_INT64"),
    "int32": (torch.int32, "TYPE_INT32"),
    "int16": (torch.int16, "TYPE_INT16"),
    "int8": (torch.int8, "TYPE_INT8"),
    "uint8": (torch.uint8, "TYPE_UINT8"),
    "bool": (torch.bool, "TYPE_BOOL"),
}
CONFIG_TYPE = {dtype: type_name for dtype, type_name in DTYPES.values()}

SHAPES_UNDERSTOOD = (
    "understood: (1) a bare state_dict {parameter name: tensor}; "
    "(2) a training checkpoint {'model_state_dict': ..., optionally "
    "'optimizer_state_dict', 'epoch', metrics...}; (3) an inference package "
    "{'model_state_dict', 'model_config' (constructor kwargs), 'input_mean', "
    "'input_std', 'class_names'}")

# Numpy's scalar and dtype reconstructors only rebuild plain values (a
# training script that saves list(numpy_array_of_str) pickles these); they
# are what torch's own weights_only error suggests allowing.
NUMPY_DATA_GLOBALS = ("numpy._core.multiarray.scalar",
                      "numpy.core.multiarray.scalar", "numpy.dtype")
NUMPY_DTYPE_CLASS = re.compile(r"^numpy\.dtypes\.\w+DType$")


class Refused(Exception):
    """A reason not to publish (exit status 2)."""


def log(message):
    print(f"{PROG}: {message}", flush=True)


# ---------------------------------------------------------------- arguments

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="inferd_package.py",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("checkpoint", help="file saved with torch.save")
    g = p.add_argument_group("model")
    g.add_argument("--model", required=True, metavar="MODULE:CLASS",
                   help="the model's class, e.g. my_models:Classifier")
    g.add_argument("--model-path", action="append", default=[], metavar="DIR",
                   help="directory added to sys.path to import --model "
                        "(repeatable)")
    g.add_argument("--model-arg", action="append", default=[],
                   metavar="KEY=VALUE",
                   help="constructor argument, added to / overriding the "
                        "checkpoint's model_config; VALUE is a Python literal "
                        "(else a string) (repeatable)")
    g = p.add_argument_group("preprocessing folded into the exported model")
    g.add_argument("--normalize", action="store_true",
                   help="(x - mean) / std on the input, with the checkpoint's "
                        "statistics (--mean-key/--std-key) or --mean/--std")
    g.add_argument("--mean", metavar="A,B,...", help="normalisation means")
    g.add_argument("--std", metavar="A,B,...",
                   help="normalisation standard deviations")
    g.add_argument("--mean-key", default="input_mean",
                   help="checkpoint key of the means (default: input_mean)")
    g.add_argument("--std-key", default="input_std",
                   help="checkpoint key of the standard deviations "
                        "(default: input_std)")
    g.add_argument("--softmax", action="store_true",
                   help="softmax over dimension 1 of the output")
    g.add_argument("--labels", metavar="FILE|a,b,c",
                   help="class names (one per line in FILE, or a comma "
                        "list); default: the checkpoint's class_names")
    g = p.add_argument_group("inputs and outputs")
    g.add_argument("--input-shape", metavar="D1,D2,...",
                   help="dimensions of one row (the batch dimension is added "
                        "when --max-batch-size > 0)")
    g.add_argument("--input-dtype", default="float32", choices=sorted(DTYPES),
                   metavar="DTYPE", help="float32 (default), float64, "
                   "float16, bfloat16, int64, int32, int16, int8, uint8, bool")
    g.add_argument("--input-name", default="INPUT__0",
                   help="the config's input name (default: INPUT__0)")
    g.add_argument("--output-name", default="OUTPUT__0",
                   help="the config's output name (default: OUTPUT__0)")
    g.add_argument("--example-inputs", metavar="FILE.pt",
                   help="a tensor saved with torch.save, with its batch "
                        "dimension: the example rows (and the input's shape "
                        "and dtype)")
    g.add_argument("--validation-rows", type=int, default=8,
                   help="random example rows when there is no "
                        "--example-inputs (default: 8)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the random example rows (default: 0)")
    g = p.add_argument_group("export and serving")
    g.add_argument("--format", default="aoti",
                   choices=("aoti", "torchscript", "traced"),
                   help="aoti: model.pt2 (torch.export + AOTInductor, "
                        "platform torch_aoti; default); torchscript: model.pt "
                        "(torch.jit.script, pytorch_libtorch); traced: "
                        "model.pt (torch.jit.trace)")
    g.add_argument("--max-batch-size", type=int,
                   help="0: no batch dimension (default: the model's "
                        "config.pbtxt's, else 64)")
    g.add_argument("--max-queue-delay-us", type=int, default=500,
                   help="dynamic_batching's max_queue_delay_microseconds in "
                        "a new config.pbtxt (default: 500)")
    g.add_argument("--tolerance", type=float, default=1e-5,
                   help="largest absolute difference allowed between the "
                        "exported model and eager PyTorch (default: 1e-5)")
    g = p.add_argument_group("where to publish")
    g.add_argument("--repository", required=True, metavar="DIR",
                   help="the model repository (an existing directory)")
    g.add_argument("--name", required=True, help="the model's name")
    g.add_argument("--version", type=int,
                   help="default: one more than the highest existing version "
                        "(1 when none)")
    args = p.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.name):
        p.error(f"--name {args.name!r}: use letters, digits, '_', '-', '.'")
    if args.version is not None and args.version < 1:
        p.error("--version must be 1 or more")
    if args.max_batch_size is not None and args.max_batch_size < 0:
        p.error("--max-batch-size must be 0 or more")
    if args.validation_rows < 1:
        p.error("--validation-rows must be 1 or more")
    if args.input_shape is None and args.example_inputs is None:
        p.error("give the input's shape: --input-shape or --example-inputs")
    if args.input_name == args.output_name:
        p.error("--input-name and --output-name must differ")
    return args


def parse_model_args(pairs):
    kwargs = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.isidentifier():
            raise Refused(f"--model-arg {pair!r}: expected KEY=VALUE")
        try:
            kwargs[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            kwargs[key] = text
    return kwargs


def parse_floats(flag, text):
    try:
        return torch.tensor([float(v) for v in text.split(",")])
    except ValueError:
        raise Refused(f"{flag} {text!r}: expected numbers separated by commas")


def parse_dims(text):
    try:
        dims = [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        dims = []
    if not dims or any(d < 1 for d in dims):
        raise Refused(f"--input-shape {text!r}: expected positive integers "
                      "separated by commas, e.g. 4 or 3,32,32")
    return dims


# --------------------------------------------------------------- checkpoint

def load_safely(path, what):
    """torch.load(weights_only=True); numpy scalars and dtypes (plain data)
    are allowed, any other global is refused with its name."""
    if not os.path.isfile(path):
        raise Refused(f"{what} {path}: no such file")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as first_error:  # noqa: BLE001 (reported below)
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # noqa: BLE001
            unsafe = None
        if not unsafe:
            raise Refused(f"{what} {path} cannot be read with "
                          f"torch.load(weights_only=True): "
                          f"{str(first_error).splitlines()[0]}")
        others = [g for g in unsafe if g not in NUMPY_DATA_GLOBALS
                  and not NUMPY_DTYPE_CLASS.match(g)]
        if others:
            raise Refused(
                f"{what} {path} holds objects that torch.load(weights_only="
                f"True) does not load (they could run code): "
                f"{', '.join(others)}; save only tensors, numbers, strings, "
                "lists and dicts (e.g. model.state_dict(), not the model)")
        allowed = []
        for name in unsafe:
            module, _, attr = name.rpartition(".")
            allowed.append(getattr(importlib.import_module(module), attr))
        # A numpy dtype unpickles as its class (numpy.dtypes.StrDType...),
        # which the scan above does not list: the plain-data ones.
        import numpy
        allowed += [getattr(numpy.dtypes, n) for n in dir(numpy.dtypes)
                    if n.endswith("DType") and n not in ("ObjectDType",
                                                          "StringDType")]
        log(f"note: {path} holds numpy values ({', '.join(unsafe)}); read "
            f"as plain data")
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, weights_only=True, map_location="cpu")
        except Exception as e:  # noqa: BLE001 (reported)
            raise Refused(f"{what} {path} cannot be read with "
                          f"torch.load(weights_only=True): {first_line(e)}")


def plain(value):
    """Numpy scalars -> Python values, recursively through lists."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, torch.Tensor):
        return value.item()
    return value


def split_checkpoint(obj, path):
    """-> (state_dict, everything else, kind)."""
    if not isinstance(obj, dict) or not obj:
        raise Refused(f"{path} holds {type(obj).__name__ if obj is not None else 'None'}"
                      f"{' (empty)' if isinstance(obj, dict) else ''}, not a "
                      f"checkpoint; {SHAPES_UNDERSTOOD}")
    if "model_state_dict" in obj:
        state = obj["model_state_dict"]
        if not isinstance(state, dict) or not all(
                isinstance(v, torch.Tensor) for v in state.values()):
            raise Refused(f"{path}: 'model_state_dict' is not a dict of "
                          f"tensors; {SHAPES_UNDERSTOOD}")
        meta = {k: v for k, v in obj.items() if k != "model_state_dict"}
        kind = ("inference package" if "model_config" in meta
                else "training checkpoint")
        return dict(state), meta, kind
    not_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if not not_tensors:
        return dict(obj), {}, "bare state_dict"
    keys = ", ".join(repr(k) for k in list(obj)[:12])
    raise Refused(
        f"{path}: a dict without the key 'model_state_dict' (its keys: "
        f"{keys}{', ...' if len(obj) > 12 else ''}), and not a bare state_dict "
        f"(the value of {not_tensors[0]!r} is of type "
        f"{type(obj[not_tensors[0]]).__name__}, not a tensor); "
        f"{SHAPES_UNDERSTOOD}")


def import_model_class(spec, paths):
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise Refused(f"--model {spec!r}: expected MODULE:CLASS")
    for path in reversed(paths):
        sys.path.insert(0, os.path.abspath(path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise Refused(f"--model {spec}: cannot import {module_name}: {e} "
                      f"(add its directory with --model-path)")
    cls = module
    for part in class_name.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            raise Refused(f"--model {spec}: {module_name} has no {class_name}")
    return cls


def check_state_dict(state, model):
    """Refusal 2: every key and shape of the architecture, and no others."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [f"{k}: checkpoint {list(state[k].shape)} vs model "
                  f"{list(expected[k].shape)}"
                  for k in expected if k in state
                  and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append("missing keys: " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            parts.append("shape mismatches: " + "; ".join(mismatched))
        raise Refused("the checkpoint's state_dict does not match the "
                      "architecture (check --model and --model-arg / "
                      "model_config): " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


# ----------------------------------------------------------------- the model

class Packaged(nn.Module):
    """The model with the preprocessing it travels with: (x - mean) / std
    before, softmax over dimension 1 after."""

    __constants__ = ["normalize", "softmax"]

    def __init__(self, model, mean=None, std=None, softmax=False):
        super().__init__()
        self.model = model
        self.normalize = mean is not None
        self.softmax = softmax
        self.register_buffer("mean", mean if mean is not None
                             else torch.zeros(0))
        self.register_buffer("std", std if std is not None else torch.ones(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = (x - self.mean) / self.std
        y = self.model(x)
        if self.softmax:
            y = torch.softmax(y, dim=1)
        return y


_NAMED_SOURCE = """import torch


class Named(torch.nn.Module):
    \"\"\"Calls `inner`; its forward() argument carries the input's name.\"\"\"

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, {name}: torch.Tensor) -> torch.Tensor:
        return self.inner({name})
"""


def named_argument(module, name, workdir):
    """`module` with forward()'s argument renamed to `name`, for TorchScript:
    inferd maps a TorchScript input to the forward() argument of the same
    name (else by NAME__k). TorchScript compiles from source files, so the
    wrapper is written to `workdir` and imported from there. Returns `module`
    itself when its argument already has that name, or `name` is NAME__k or
    no Python identifier."""
    import importlib.util
    import inspect
    import keyword
    try:
        parameters = list(inspect.signature(module.forward).parameters)
    except (TypeError, ValueError):
        parameters = []
    if (parameters[:1] == [name] or re.fullmatch(r".*__\d+", name)
            or not name.isidentifier() or keyword.iskeyword(name)
            or name in ("self", "torch", "inner")):
        return module
    path = os.path.join(workdir, f"inferd_named_{os.getpid()}.py")
    with open(path, "w") as f:
        f.write(_NAMED_SOURCE.format(name=name))
    spec = importlib.util.spec_from_file_location(
        f"inferd_named_{os.getpid()}", path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    return loaded.Named(module).eval()


def statistics(args, meta, dtype):
    """-> (mean, std) tensors, or (None, None) without --normalize."""
    if not args.normalize:
        if args.mean or args.std:
            raise Refused("--mean/--std given without --normalize")
        return None, None
    values = {}
    for which, flag, key in (("mean", args.mean, args.mean_key),
                             ("std", args.std, args.std_key)):
        if flag:
            values[which] = parse_floats(f"--{which}", flag)
        elif key in meta:
            values[which] = torch.as_tensor(plain(meta[key])).detach().clone()
        else:
            raise Refused(
                f"--normalize needs the input {which}: the checkpoint has no "
                f"{key!r} (its keys: {', '.join(map(repr, meta)) or 'none'}); "
                f"give --{which} A,B,... or --{which}-key KEY")
    if not dtype.is_floating_point:
        raise Refused(f"--normalize needs a floating-point input, not "
                      f"{args.input_dtype}")
    mean, std = (values[k].to(dtype) for k in ("mean", "std"))
    if (std == 0).any():
        raise Refused("the input std has zeros; normalising would divide by "
                      "zero")
    return mean, std


def read_labels(args, meta):
    if args.labels:
        if os.path.isfile(args.labels):
            with open(args.labels) as f:
                labels = [line.strip() for line in f if line.strip()]
        else:
            labels = [v.strip() for v in args.labels.split(",")]
        return labels, f"--labels {args.labels}"
    if "class_names" in meta:
        return [str(v) for v in plain(meta["class_names"])], \
            "the checkpoint's class_names"
    return None, None


def example_rows(args, mean, std):
    """-> (the example input tensor, per-row dims, dtype, where from)."""
    batched = args.max_batch_size > 0
    if args.example_inputs:
        x = load_safely(args.example_inputs, "--example-inputs")
        if isinstance(x, (tuple, list)) and len(x) == 1:
            x = x[0]
        if not isinstance(x, torch.Tensor):
            raise Refused(f"--example-inputs {args.example_inputs}: expected "
                          f"one tensor, got {type(x).__name__}")
        if batched and (x.dim() < 1 or x.shape[0] < 1):
            raise Refused(f"--example-inputs: shape {list(x.shape)} has no "
                          "batch dimension (dimension 0 = rows)")
        dims = list(x.shape[1:] if batched else x.shape)
        if args.input_shape and parse_dims(args.input_shape) != dims:
            raise Refused(f"--input-shape {args.input_shape} contradicts "
                          f"--example-inputs, whose rows are {dims}")
        return x.contiguous(), dims, x.dtype, f"{args.example_inputs}"
    dims = parse_dims(args.input_shape)
    dtype = DTYPES[args.input_dtype][0]
    shape = ([args.validation_rows] if batched else []) + dims
    gen = torch.Generator().manual_seed(args.seed)
    if dtype.is_floating_point:
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        if mean is not None:  # rows as the model will see them
            x = x * std.to(torch.float64) + mean.to(torch.float64)
        x = x.to(dtype)
    elif dtype == torch.bool:
        x = torch.randint(0, 2, shape, generator=gen).bool()
    else:
        x = torch.randint(0, 10, shape, generator=gen).to(dtype)
    rows = f"{args.validation_rows} random rows" if batched else "random input"
    return x, dims, dtype, f"{rows} (seed {args.seed})"


MODE_DEPENDENT = ("Dropout", "BatchNorm")


def report_train_vs_eval(packaged, x, eval_out):
    """Refusal 1's report: how training mode would have differed."""
    layers = [f"{name[len('model.'):] or name} ({type(m).__name__})"
              for name, m in packaged.named_modules()
              if isinstance(m, (nn.modules.dropout._DropoutNd,
                                nn.modules.batchnorm._BatchNorm))
              or any(k in type(m).__name__ for k in MODE_DEPENDENT)]
    try:
        trained = copy.deepcopy(packaged).train()  # BatchNorm updates stats
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(0)
            train_out = trained(x)
    except Exception as e:  # noqa: BLE001 (only a report)
        log(f"note: training mode could not run on the example rows "
            f"({str(e).splitlines()[0]}); exported in eval mode")
        return
    if not isinstance(train_out, torch.Tensor) or \
            train_out.shape != eval_out.shape:
        return
    diff = (train_out.double() - eval_out.double()).abs().max().item()
    if diff > 0:
        log(f"note: training mode gives other outputs than eval mode on the "
            f"example rows (max |difference| {diff:.3g}); exported in eval "
            f"mode. Layers that behave differently in training: "
            f"{', '.join(layers) if layers else 'none of Dropout/BatchNorm*'}")
    else:
        log("note: training and eval mode agree on the example rows")


def training_modules(module):
    return [name or "(the model)" for name, m in module.named_modules()
            if m.training]


# ------------------------------------------------------- the existing model

@functools.lru_cache(maxsize=None)
def model_config_class():
    """inferd's ModelConfig message, generated from proto/model_config.proto
    (once per run)."""
    with tempfile.TemporaryDirectory(prefix="inferd-package-proto.") as out:
        return inferd_protos.generate(out).model_config_pb2


def read_config(path):
    """The model's config.pbtxt as a ModelConfig, parsed as inferd parses it
    (fields inferd does not know are skipped). Refused when unreadable or not
    protobuf text format."""
    pb = model_config_class()
    try:
        with open(path) as f:
            return text_format.Parse(f.read(), pb.ModelConfig(),
                                     allow_unknown_field=True,
                                     allow_unknown_extension=True)
    except (OSError, text_format.ParseError) as e:
        raise Refused(f"{path}: {e}")


def tensors_of(config, field):
    """(name, data_type name, dims) of each input or output."""
    data_type = model_config_class().DataType
    return [(t.name, data_type.Name(t.data_type), list(t.dims))
            for t in getattr(config, field)]


def check_existing_config(path, platform, max_batch_size, inputs, outputs):
    """Refuses a version whose platform, batching, inputs or outputs differ
    from the model's config.pbtxt."""
    config = read_config(path)
    differences = []
    have_platform = config.platform or "pytorch_libtorch"
    if have_platform != platform:
        differences.append(f"platform: config.pbtxt says {have_platform}, "
                           f"this version is {platform}")
    have_mbs = config.max_batch_size
    if have_mbs != max_batch_size:
        differences.append(f"max_batch_size: config.pbtxt says {have_mbs}, "
                           f"this version was proven with {max_batch_size} "
                           f"(--max-batch-size)")
    for field, ours in (("input", inputs), ("output", outputs)):
        theirs = tensors_of(config, field)
        if len(theirs) != len(ours):
            differences.append(f"{field}: config.pbtxt has {len(theirs)}, "
                               f"this version {len(ours)}")
            continue
        for i, ((n1, t1, d1), (n2, t2, d2)) in enumerate(zip(theirs, ours)):
            if n1 != n2:
                differences.append(f"{field}[{i}].name: config.pbtxt {n1!r}, "
                                   f"this version {n2!r}")
            if t1 != t2:
                differences.append(f"{field}[{i}] {n1!r} data_type: "
                                   f"config.pbtxt {t1}, this version {t2}")
            if len(d1) != len(d2) or any(a != b and a != -1
                                         for a, b in zip(d1, d2)):
                differences.append(f"{field}[{i}] {n1!r} dims: config.pbtxt "
                                   f"{d1}, this version {d2}")
    if differences:
        raise Refused(f"the new version does not fit the model's existing "
                      f"{path}: " + "; ".join(differences) +
                      " (publish under another --name, or change the config "
                      "first)")


def config_text(name, platform, max_batch_size, queue_delay_us, inp, out,
                label_file):
    def block(field, tensor, extra=""):
        tname, ttype, dims = tensor
        return (f"{field} [\n  {{\n    name: \"{tname}\"\n"
                f"    data_type: {ttype}\n"
                f"    dims: [ {', '.join(str(d) for d in dims)} ]\n"
                f"{extra}  }}\n]\n")
    text = (f"name: \"{name}\"\nplatform: \"{platform}\"\n"
            f"max_batch_size: {max_batch_size}\n" + block("input", inp) +
            block("output", out, f"    label_filename: \"{label_file}\"\n"
                  if label_file else ""))
    if max_batch_size > 0:
        text += (f"dynamic_batching {{\n  max_queue_delay_microseconds: "
                 f"{queue_delay_us}\n}}\n")
    return text


# ----------------------------------------------------- export and its proof

@contextlib.contextmanager
def quiet_stderr():
    """Hides what a .pt2's runtime prints on stderr when it refuses an input
    (the refusal is reported as an exception too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class Exported:
    """The exported file loaded back, run as inferd runs it."""

    def __init__(self, path, fmt):
        self.fmt = fmt
        if fmt == "aoti":
            # The package checks its inputs' shapes, as inferd has it do.
            os.environ["AOTI_RUNTIME_CHECK_INPUTS"] = "1"
            self.module = torch._inductor.aoti_load_package(path)
        else:
            self.module = torch.jit.load(path, map_location="cpu")
        self.pads_one_row = False

    def raw(self, x):
        with torch.no_grad(), quiet_stderr():
            out = self.module(x)
        if isinstance(out, (list, tuple)):
            if len(out) != 1:
                raise RuntimeError(f"returned {len(out)} outputs, expected 1")
            out = out[0]
        return out

    def __call__(self, x, batched):
        """Runs x; a 1-row batch the package refuses is padded to 2 rows, as
        inferd does (torch.export specializes sizes 0 and 1)."""
        if batched and x.shape[0] == 1 and self.fmt == "aoti":
            try:
                return self.raw(x)
            except RuntimeError:
                self.pads_one_row = True
                return self.raw(torch.cat([x, x]))[:1]
        return self.raw(x)


def first_line(error):
    """The line of an exception's message that says what went wrong (for
    TorchScript, the interpreter's last line, after its traceback)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    line = lines[-1] if "TorchScript interpreter" in lines[0] else lines[0]
    return line.rstrip(".")


def compare(what, got, expected, tolerance, output_name):
    """Refusal 3: names the worst element."""
    if got.shape != expected.shape:
        raise Refused(f"the exported model's output {output_name!r} has shape "
                      f"{list(got.shape)} on {what}, eager PyTorch's "
                      f"{list(expected.shape)}")
    a, b = got.double().flatten(), expected.double().flatten()
    diff = (a - b).abs()
    both_nan = a.isnan() & b.isnan()
    diff = torch.where(both_nan, torch.zeros_like(diff),
                       torch.nan_to_num(diff, nan=float("inf")))
    if diff.numel() == 0:
        return 0.0
    worst = int(diff.argmax())
    if diff[worst] > tolerance:
        per_row = max(1, expected[0].numel()) if expected.dim() > 0 else 1
        bad = int((diff > tolerance).sum())
        raise Refused(
            f"the exported model differs from eager PyTorch beyond "
            f"--tolerance {tolerance:g} on {what}: {bad} values; worst: "
            f"output {output_name!r} row {worst // per_row} element "
            f"{worst % per_row}: exported {a[worst].item():.9g}, eager "
            f"{b[worst].item():.9g} (|difference| {diff[worst].item():.3g})")
    return diff[worst].item()


def rows_of(x, n):
    """n rows made by repeating x's rows."""
    reps = (n + x.shape[0] - 1) // x.shape[0]
    return x.repeat(reps, *([1] * (x.dim() - 1)))[:n].contiguous()


def batch_refusal(detail):
    return Refused(
        f"the batch dimension did not export as dynamic: {detail}. Every batch "
        f"of 1..--max-batch-size rows must run: do not hard-code the batch "
        f"size in forward() (e.g. x.reshape(8, -1) -> x.reshape(x.shape[0], "
        f"-1) or x.flatten(1)), lower --max-batch-size to what the model "
        f"takes, or use --max-batch-size 0 for a model without a batch "
        f"dimension")


def prove(exported, packaged, x, args, output_name):
    """Refusals 3 and 4 on the exported file loaded back."""
    tol = args.tolerance
    batched = args.max_batch_size > 0

    def eager(rows):
        with torch.no_grad():
            return packaged(rows)

    def run(rows, what):
        try:
            return exported(rows, batched)
        except Exception as e:  # noqa: BLE001 (reported)
            raise Refused(f"the exported model failed on {what}: "
                          f"{first_line(e)}")

    worst = 0.0
    if not batched:
        return compare("the example input", run(x, "the example input"),
                       eager(x), tol, output_name)
    # The example rows, in batches of at most max_batch_size rows, as the
    # validation gate feeds them.
    mbs = args.max_batch_size
    for first in range(0, x.shape[0], mbs):
        chunk = x[first:first + mbs]
        what = (f"the example rows {first}..{first + chunk.shape[0] - 1}"
                if x.shape[0] > mbs else f"the {x.shape[0]} example rows")
        got = run(chunk, what)
        if got.dim() == 0 or got.shape[0] != chunk.shape[0]:
            raise batch_refusal(f"given {chunk.shape[0]} rows it returned "
                                f"{list(got.shape)}")
        worst = max(worst, compare(what, got, eager(chunk), tol, output_name))
    # Refusal 4: 1 row and max_batch_size rows must run, with as many rows out.
    for n in sorted({1, 2, mbs} if mbs >= 2 else {1}):
        rows = rows_of(x, n)
        try:
            got = exported(rows, batched)
        except Exception as e:  # noqa: BLE001 (reported)
            raise batch_refusal(f"the exported model refuses a batch of {n} "
                                f"row{'s' if n > 1 else ''}: {first_line(e)}")
        if got.dim() == 0 or got.shape[0] != n:
            raise batch_refusal(f"given {n} row{'s' if n > 1 else ''} it "
                                f"returned shape {list(got.shape)}")
    # Refusal 3 again: one row, a batch, and a full batch.
    sizes = [1, max(2, min(mbs, x.shape[0])), mbs]
    for n in sorted(set(sizes)):
        rows = rows_of(x, n)
        what = f"{'one row' if n == 1 else f'a batch of {n} rows'}"
        worst = max(worst, compare(what, run(rows, what), eager(rows), tol,
                                   output_name))
    return worst


def check_torchscript_inputs(path, input_name):
    """inferd maps a TorchScript input to forward()'s argument by name, else
    by NAME__k; refuses a name that maps to neither."""
    module = torch.jit.load(path, map_location="cpu")
    arguments = [a.name for a in module.forward.schema.arguments][1:]
    if input_name in arguments[:1]:
        return
    match = re.fullmatch(r".*__(\d+)", input_name)
    if match and int(match.group(1)) == 0:
        return
    raise Refused(f"--input-name {input_name!r} matches no argument of the "
                  f"exported forward({', '.join(arguments)}): inferd maps "
                  f"TorchScript inputs by argument name or NAME__k; use "
                  f"--input-name {arguments[0] if arguments else 'INPUT__0'} "
                  f"or INPUT__0")


def export(packaged, x, path, args):
    try:
        inferd_export.export(packaged, (x,), path, args.format,
                             args.max_batch_size)
    except Exception as e:  # noqa: BLE001 (reported)
        text = str(e)
        if "Constraints violated" in text and "batch" in text:
            found = [line.strip(" -") for line in text.splitlines()
                     if "specialized" in line] or [first_line(e)]
            detail = found[0].split(". ")[0]
            raise batch_refusal(f"torch.export found the batch size fixed "
                                f"in forward(): {detail}")
        raise Refused(f"exporting to {args.format} failed: {first_line(e)}"
                      + (" (a model torch.jit.script cannot compile may "
                         "export with --format aoti or traced)"
                         if args.format == "torchscript" else ""))


# ------------------------------------------------------------ publication

def next_version(model_dir):
    versions = [int(d) for d in (os.listdir(model_dir)
                                 if os.path.isdir(model_dir) else [])
                if d.isdigit() and os.path.isdir(os.path.join(model_dir, d))]
    return max(versions, default=0) + 1


def refuse_existing(version_dir):
    if os.path.lexists(version_dir):
        raise Refused(f"version directory {version_dir} already exists; a "
                      "published version is never overwritten (give another "
                      "--version, or leave it out for the next one)")


def rename_noreplace(src, dst):
    """Renames src to dst, never replacing dst (os.rename replaces an empty
    directory): Linux's renameat2(RENAME_NOREPLACE) where the filesystem has
    it, else a check right before os.rename."""
    import ctypes
    import errno
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, rename_noreplace_flag = -100, 1
        if renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst),
                     rename_noreplace_flag) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), dst)
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), dst)
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)
    os.rename(src, dst)


def package(args, staging):
    repo = os.path.abspath(args.repository)
    model_dir = os.path.join(repo, args.name)
    version = args.version or next_version(model_dir)
    version_dir = os.path.join(model_dir, str(version))
    refuse_existing(version_dir)
    fmt_file = inferd_export.FILENAME[args.format]
    platform = inferd_export.PLATFORM[args.format]
    config_path = os.path.join(model_dir, "config.pbtxt")
    has_config = os.path.exists(config_path)
    if args.max_batch_size is None:
        args.max_batch_size = 64
        if has_config:  # what the model serves with
            args.max_batch_size = read_config(config_path).max_batch_size

    state, meta, kind = split_checkpoint(
        load_safely(args.checkpoint, "checkpoint"), args.checkpoint)
    log(f"{args.checkpoint}: {kind} ({len(state)} tensors"
        + (f"; epoch {meta['epoch']}" if "epoch" in meta else "") + ")")
    cls = import_model_class(args.model, args.model_path)
    kwargs = dict(meta.get("model_config") or {})
    kwargs.update(parse_model_args(args.model_arg))
    try:
        model = cls(**kwargs)
    except Exception as e:  # noqa: BLE001 (reported)
        raise Refused(f"{args.model}(**{kwargs!r}) failed: {first_line(e)}")
    check_state_dict(state, model)

    input_dtype = (DTYPES[args.input_dtype][0] if not args.example_inputs
                   else None)
    mean, std = statistics(args, meta, input_dtype or torch.float32)
    x, in_dims, input_dtype, x_from = example_rows(args, mean, std)
    if mean is not None:
        mean, std = mean.to(input_dtype), std.to(input_dtype)
    if input_dtype not in CONFIG_TYPE:
        raise Refused(f"input dtype {input_dtype} has no config.pbtxt type")
    # Wrapped only when there is preprocessing: otherwise the model exports
    # as it is (a TorchScript forward() keeps its argument names).
    packaged = (Packaged(model, mean, std, args.softmax)
                if mean is not None or args.softmax else model)

    # Refusal 1: eval mode, checked.
    packaged.eval()
    still = training_modules(packaged)
    if still:
        raise Refused(f"still in training mode after .eval(): "
                      f"{', '.join(still)} (does the model override train() "
                      f"or eval()?); an export in training mode computes "
                      f"other outputs than inference should")
    try:
        outputs = inferd_export.eager_outputs(packaged, (x,))
    except Exception as e:  # noqa: BLE001 (reported)
        raise Refused(f"the model fails on the example rows ({x_from}, shape "
                      f"{list(x.shape)}, {input_dtype}): {first_line(e)}")
    if len(outputs) != 1:
        raise Refused(f"the model returns {len(outputs)} outputs; this tool "
                      "packages models with one output")
    eager_out = outputs[0]
    if not isinstance(eager_out, torch.Tensor):
        raise Refused(f"the model returns {type(eager_out).__name__}; this "
                      "tool packages models returning one tensor")
    batched = args.max_batch_size > 0
    if batched and (eager_out.dim() == 0 or eager_out.shape[0] != x.shape[0]):
        raise Refused(f"given {x.shape[0]} rows the model returned shape "
                      f"{list(eager_out.shape)}: the output's dimension 0 "
                      f"must be the batch (or use --max-batch-size 0)")
    out_dims = list(eager_out.shape[1:] if batched else eager_out.shape)
    if eager_out.dtype not in CONFIG_TYPE:
        raise Refused(f"output dtype {eager_out.dtype} has no config.pbtxt "
                      "type")
    report_train_vs_eval(packaged, x, eager_out)
    packaged.eval()

    labels, labels_from = read_labels(args, meta)
    if labels is not None:
        width = out_dims[-1] if out_dims else 1
        if len(labels) != width:
            raise Refused(f"{len(labels)} class names ({labels_from}) for an "
                          f"output of {width} classes ({out_dims})")
    inp = (args.input_name, CONFIG_TYPE[input_dtype], in_dims)
    out = (args.output_name, CONFIG_TYPE[eager_out.dtype], out_dims)
    if has_config:
        check_existing_config(config_path, platform, args.max_batch_size,
                              [inp], [out])

    # Export into the staging directory, load back, prove.
    new_model = not os.path.exists(model_dir)
    staged_model = os.path.join(staging, args.name)
    staged_version = os.path.join(staged_model, str(version))
    os.makedirs(staged_version)
    model_file = os.path.join(staged_version, fmt_file)
    log(f"exporting ({args.format}) ...")
    with tempfile.TemporaryDirectory() as workdir:
        exportable = (packaged if args.format == "aoti" else
                      named_argument(packaged, args.input_name, workdir))
        export(exportable, x, model_file, args)
    if args.format != "aoti":
        check_torchscript_inputs(model_file, args.input_name)
    exported = Exported(model_file, args.format)
    if args.format != "aoti":
        left = training_modules(exported.module)
        if left:
            raise Refused(f"the exported module is in training mode: "
                          f"{', '.join(left)}")
    worst = prove(exported, packaged, x, args, args.output_name)
    inferd_export.write_validation(staged_version, {args.input_name: x,
                                                    args.output_name: eager_out})

    label_file = "labels.txt" if labels is not None else None
    staged_config = os.path.join(staged_model, "config.pbtxt")
    staged_labels = os.path.join(staged_model, "labels.txt")
    if not has_config:
        with open(staged_config, "w") as f:
            f.write(config_text(args.name, platform, args.max_batch_size,
                                args.max_queue_delay_us, inp, out, label_file))
    labels_path = os.path.join(model_dir, "labels.txt")
    if labels is not None:
        if os.path.exists(labels_path):
            with open(labels_path) as f:
                have = [line.strip() for line in f if line.strip()]
            if have != labels:
                log(f"warning: {labels_path} exists with other class names; "
                    f"left as it is")
        else:
            with open(staged_labels, "w") as f:
                f.write("".join(f"{label}\n" for label in labels))

    # Publish: one rename for a new model, else labels, config, version.
    written = []
    try:
        try:
            if not new_model:
                raise FileExistsError
            rename_noreplace(staged_model, model_dir)
            written.append(model_dir)
        except FileExistsError:  # the model exists (or appeared meanwhile)
            if new_model and os.path.exists(config_path):
                check_existing_config(config_path, platform,
                                      args.max_batch_size, [inp], [out])
            for staged, final in ((staged_labels, labels_path),
                                  (staged_config, config_path)):
                if os.path.exists(staged) and not os.path.exists(final):
                    rename_noreplace(staged, final)
                    written.append(final)
            refuse_existing(version_dir)  # again, right before the rename
            try:
                rename_noreplace(staged_version, version_dir)
            except FileExistsError:
                refuse_existing(version_dir)
                raise
    except BaseException:
        for path in reversed(written):  # nothing half-published
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        raise

    rows = x.shape[0] if batched else 1
    shape = lambda dims: [-1] + dims if batched else dims  # noqa: E731
    log(f"published {version_dir}/{fmt_file} ({platform}), {args.name} version "
        f"{version}")
    log(f"  input  {inp[0]} {inp[1][5:]} {shape(in_dims)}"
        + (" (normalised inside the model)" if mean is not None else ""))
    log(f"  output {out[0]} {out[1][5:]} {shape(out_dims)}"
        + (" (softmax inside the model)" if args.softmax else "")
        + (f", labels from {labels_from}" if labels is not None else ""))
    log(f"  proven: exported == eager within {args.tolerance:g} (worst "
        f"{worst:.3g}) on "
        + (f"{rows} example rows" if batched else "the example input")
        + f" ({x_from})"
        + (f", 1 row, a batch and {args.max_batch_size} rows" if batched
           else "")
        + (" (the package refuses 1 row; inferd pads it to 2)"
           if exported.pads_one_row else ""))
    log(f"  validation data: {version_dir}/validation/ "
        f"({args.input_name}.bin, {args.output_name}.bin)")
    if has_config:
        log(f"  kept the existing {config_path}")
    inferd = os.path.join(ROOT, "build", "bin", "inferd")
    log(f"serve it: {inferd} --model-repository={repo}   (a server already "
        f"running with --model-control-mode=poll loads version {version} "
        f"within two poll intervals, after its validation gate passes)")


def main(argv=None):
    args = parse_args(argv)
    repo = os.path.abspath(args.repository)
    if not os.path.isdir(repo):
        log(f"refused: --repository {repo} is not a directory")
        return 2
    # Hidden, inside the repository: same filesystem (rename is atomic) and
    # ignored by inferd's poller.
    staging = tempfile.mkdtemp(prefix=f".staging-{args.name}-{os.getpid()}-",
                               dir=repo)
    try:
        package(args, staging)
        return 0
    except Refused as r:
        log(f"refused: {r}")
        return 2
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
