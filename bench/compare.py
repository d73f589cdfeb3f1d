"""Side-by-side benchmark: inferd against the usual alternative and the limits.

One run measures, on the same models, machine and load generator
(build/bin/inferd-bench), a concurrency sweep of:
  inferd           dynamic batching on (the exported config; the queue
                   delay adaptive, inferd's default)
  inferd-fixed     mlp only: the same with Triton's fixed queue delay
                   (parameter INFERD_QUEUE_DELAY: "fixed")
  inferd-nobatch   the same model without a dynamic_batching block
  inferd-aoti      mlp only: the same model as a torch.export + AOTInductor
                   package (.pt2), dynamic batching on
  python           bench/python_baseline/server.py: grpcio + TorchScript,
                   one forward per request under no_grad (the usual recipe)
  transport        bench/transport_limit: the same gRPC API answering without
                   a model (what gRPC itself costs here)
  transport-async  the same with ModelInfer on gRPC's completion-queue API,
                   answered inline by one thread (the other RPCs on the
                   callback API); the better of the two is the ceiling's
and, with build/bin/inferd-inprocess-limit, the model called in-process from
C++ at the mean batch sizes inferd formed at each level (the best a server
could do), for the TorchScript model and for the .pt2 package. Servers run pinned to SERVER_CPUS, the client to CLIENT_CPUS.

Writes bench/results/compare-<model>.csv, compare.md (tables and the
targets) and compare.png (latency against throughput), or under --out.

  bench/compare.py                       # full run (~8 min on 2 cores)
  bench/compare.py --smoke --out /tmp/x  # seconds; checks it all still runs
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every Python part runs on the project's interpreter: $INFERD_PYTHON (CTest
# sets it), else the venv's (scripts/bootstrap.sh).
PYTHON = os.environ.get("INFERD_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")


def start(cmd, pattern, cpus, log_path, extra_pattern=None):
    """Starts a server pinned to `cpus`; returns (process, port) once its
    log shows `pattern` (a regex whose group 1 is the port), or (process,
    port, extra port) when `extra_pattern` must show up too."""
    log = open(log_path, "w+")
    proc = subprocess.Popen(["taskset", "-c", cpus] + cmd, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read()
        match = re.search(pattern, text)
        extra = re.search(extra_pattern, text) if extra_pattern else None
        if match and extra_pattern is None:
            return proc, int(match.group(1))
        if match and extra:
            return proc, int(match.group(1)), int(extra.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    log.seek(0)
    raise RuntimeError(f"{cmd[0]} did not start:\n{log.read()[-3000:]}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def batch_totals(metrics_port, model):
    """(rows, batches) inferd executed so far for `model`."""
    text = urllib.request.urlopen(
        f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    def value(name):
        m = re.search(name + r'\{model="' + model + r'",version="\d+"\} (\S+)', text)
        return float(m.group(1)) if m else 0.0
    return value("inferd_batch_size_sum"), value("inferd_batch_size_count")


def bench(args, port, model, label, level, out_csv):
    subprocess.run(["taskset", "-c", args.client_cpus,
                    os.path.join(args.build, "bin", "inferd-bench"),
                    f"--server=127.0.0.1:{port}", f"--model={model}",
                    f"--label={label}", f"--concurrency={level}",
                    f"--duration={args.duration}", f"--warmup={args.warmup}",
                    f"--csv={out_csv}"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out_csv) as f:
        return list(csv.DictReader(f))[0]


def sweep(args, port, model, label, tmp, metrics_port=None):
    rows = []
    for level in args.concurrency:
        before = batch_totals(metrics_port, model) if metrics_port else None
        row = bench(args, port, model, label, level,
                    os.path.join(tmp, f"{label}-{level}.csv"))
        if metrics_port:
            after = batch_totals(metrics_port, model)
            batches = after[1] - before[1]
            row["mean_batch"] = (after[0] - before[0]) / batches if batches else 0
        rows.append(row)
        print(f"  {label:15s} c={level:<4} {float(row['infer_per_s']):10.1f} infer/s"
              f"  p99 {float(row['p99_ms']):8.3f} ms  errors {row['errors'] or 0}",
              flush=True)
    return rows


def make_repository(tmp, model):
    """Exports `model` (mlp or iris) plus a copy without dynamic batching."""
    repo = os.path.join(tmp, "models")
    if model == "mlp":
        subprocess.run([PYTHON, os.path.join(ROOT, "examples/mlp/export.py"),
                        "--repository", repo], check=True, stdout=subprocess.DEVNULL)
        fixed = os.path.join(repo, "mlp_fixed")
        shutil.copytree(os.path.join(repo, "mlp"), fixed)
        config = open(os.path.join(fixed, "config.pbtxt")).read()
        config = config.replace('name: "mlp"', 'name: "mlp_fixed"')
        config += ('parameters { key: "INFERD_QUEUE_DELAY" '
                   'value: { string_value: "fixed" } }\n')
        open(os.path.join(fixed, "config.pbtxt"), "w").write(config)
        return repo, "mlp_nobatch"
    subprocess.run([PYTHON, os.path.join(ROOT, "examples/iris/train_export.py"),
                    "--repository", repo, "--checkpoint",
                    os.path.join(tmp, "ckpt.pt")], check=True, stdout=subprocess.DEVNULL)
    nobatch = os.path.join(repo, "iris_nobatch")
    shutil.copytree(os.path.join(repo, "iris"), nobatch)
    config = open(os.path.join(nobatch, "config.pbtxt")).read()
    config = config.replace('name: "iris"', 'name: "iris_nobatch"')
    config = re.sub(r"dynamic_batching \{[^}]*\}\n", "", config)
    open(os.path.join(nobatch, "config.pbtxt"), "w").write(config)
    return repo, "iris_nobatch"


def inprocess(args, model_dir, batches, tmp):
    out = os.path.join(tmp, "inprocess.csv")
    subprocess.run(["taskset", "-c", args.server_cpus,
                    os.path.join(args.build, "bin", "inferd-inprocess-limit"),
                    f"--model-dir={model_dir}",
                    "--batch-sizes=" + ",".join(str(b) for b in batches),
                    f"--duration={args.duration}", f"--warmup={args.warmup}",
                    f"--csv={out}"], check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return {int(r["batch"]): r for r in csv.DictReader(f)}


def run_model(args, model, tmp):
    repo, nobatch = make_repository(tmp, model)
    bin_dir = os.path.join(args.build, "bin")
    print(f"== {model}", flush=True)
    results = {}
    log = os.path.join(tmp, f"inferd-{model}.log")
    proc, port, metrics_port = start(
        [os.path.join(bin_dir, "inferd"), f"--model-repository={repo}",
         "--grpc-port=0", "--http-port=0", "--metrics-port=0"],
        r"listening for gRPC on 127\.0\.0\.1:(\d+)", args.server_cpus, log,
        extra_pattern=r"metrics on http://127\.0\.0\.1:(\d+)")
    try:
        results["inferd"] = sweep(args, port, model, "inferd", tmp, metrics_port)
        results["inferd-nobatch"] = sweep(args, port, nobatch, "inferd-nobatch", tmp)
        if model == "mlp":
            results["inferd-fixed"] = sweep(args, port, "mlp_fixed", "inferd-fixed",
                                            tmp, metrics_port)
            results["inferd-aoti"] = sweep(args, port, "mlp_aoti", "inferd-aoti",
                                           tmp, metrics_port)
    finally:
        stop(proc)
    others = {
        "python": ([PYTHON, os.path.join(ROOT, "bench/python_baseline/server.py"),
                    f"--model-dir={repo}/{model}", "--port=0"],
                   r"listening on 127\.0\.0\.1:(\d+)"),
        "transport": ([os.path.join(bin_dir, "inferd-transport-limit"),
                       f"--model-dir={repo}/{model}", "--port=0"],
                      r"listening on 127\.0\.0\.1:(\d+)"),
        "transport-async": ([os.path.join(bin_dir, "inferd-transport-limit"),
                             f"--model-dir={repo}/{model}", "--port=0",
                             "--async-infer"],
                            r"listening on 127\.0\.0\.1:(\d+)"),
    }
    for label, (cmd, pattern) in others.items():
        proc, port = start(cmd, pattern, args.server_cpus,
                           os.path.join(tmp, f"{label}-{model}.log"))
        try:
            results[label] = sweep(args, port, model, label, tmp)
        finally:
            stop(proc)
    for system, name in (("inferd", model), ("inferd-aoti", "mlp_aoti")):
        if system not in results:
            continue
        batches = sorted({max(1, round(r["mean_batch"])) for r in results[system]})
        limits = inprocess(args, f"{repo}/{name}", batches, tmp)
        for row in results[system]:
            limit = limits[max(1, round(row["mean_batch"]))]
            row["limit_infer_per_s"] = float(limit["infer_per_s"])
            row["limit_p99_ms"] = float(limit["p99_ms"])
    return results


def cell(row):
    return f"{float(row['infer_per_s']):.0f} / {float(row['p99_ms']):.2f}"


def report_formats(results, concurrency):
    """TorchScript against the .pt2 package of the same model, each with its
    in-process limit at the batch sizes inferd formed."""
    lines = ["### mlp: TorchScript and .pt2", "",
             "infer/s / p99 ms; `limit` is the in-process infer/s of the same "
             "file at the mean batch inferd formed (`batch`).", "",
             "| concurrency | TorchScript | batch | limit | .pt2 | batch | limit |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for i, level in enumerate(concurrency):
        r = at_level(results, i)
        ts, pt2 = r["inferd"], r["inferd-aoti"]
        lines.append(
            f"| {level} | {cell(ts)} | {ts['mean_batch']:.1f} | "
            f"{ts['limit_infer_per_s']:.0f} | {cell(pt2)} | "
            f"{pt2['mean_batch']:.1f} | {pt2['limit_infer_per_s']:.0f} |")
    return lines


def report_delay(results, concurrency):
    """The adaptive queue delay (the default) against Triton's fixed one and
    against no batching, with the Python baseline for reference."""
    lines = ["### mlp: adaptive against fixed queue delay", "",
             "infer/s / p99 ms.", "",
             "| concurrency | adaptive (default) | fixed delay | no batching | "
             "python baseline |",
             "|---:|---:|---:|---:|---:|"]
    for i, level in enumerate(concurrency):
        r = at_level(results, i)
        lines.append(f"| {level} | {cell(r['inferd'])} | {cell(r['inferd-fixed'])} | "
                     f"{cell(r['inferd-nobatch'])} | {cell(r['python'])} |")
    return lines


def report(model, results, concurrency):
    lines = [f"### {model}", "",
             "infer/s / p99 ms at each client concurrency; `batch` is the mean "
             "rows per forward pass inferd formed, `limit` the in-process "
             "infer/s at that batch size, `inferd/limit` inferd's share of it, "
             "and `ceiling` the share any gRPC server could reach on the same "
             "one core (see ceiling()).", "",
             "| concurrency | inferd | inferd, no batching | python baseline | "
             "transport limit | transport limit, async | batch | limit infer/s | "
             "inferd/limit | ceiling |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, level in enumerate(concurrency):
        r = at_level(results, i)
        lines.append(
            f"| {level} | {cell(r['inferd'])} | {cell(r['inferd-nobatch'])} | "
            f"{cell(r['python'])} | {cell(r['transport'])} | "
            f"{cell(r['transport-async'])} | "
            f"{r['inferd']['mean_batch']:.1f} | {r['inferd']['limit_infer_per_s']:.0f} | "
            f"{share(r['inferd']):.2f} | {ceiling(r):.2f} |")
    return lines


def at_level(results, i):
    """Each system's row at the i-th concurrency level, by system."""
    return {system: rows[i] for system, rows in results.items()}


def share(inferd_row):
    """inferd's throughput as a fraction of the in-process limit."""
    return float(inferd_row["infer_per_s"]) / inferd_row["limit_infer_per_s"]


def ceiling(rows_at_level):
    """The best fraction of the in-process limit a gRPC server can reach when
    the model and gRPC share one core: each request then costs the model's
    1/L seconds plus gRPC's 1/T (T: the better transport limit), so
    throughput is at most 1/(1/L + 1/T), which is T/(L+T) of L."""
    limit = rows_at_level["inferd"]["limit_infer_per_s"]
    transport = best_transport(rows_at_level)
    return transport / (limit + transport)


def best_transport(rows_at_level):
    """The higher of the two transport limits' infer/s: gRPC's least cost."""
    return max(float(rows_at_level[system]["infer_per_s"])
               for system in ("transport", "transport-async"))


def targets(results, concurrency):
    """The issue's targets at concurrency 64 (or the highest level run)."""
    i = concurrency.index(64) if 64 in concurrency else len(concurrency) - 1
    lines = [f"Targets at concurrency {concurrency[i]}:", ""]
    def get(model, system, key):
        return float(results[model][system][i][key])
    if "mlp" in results:
        ratio = get("mlp", "inferd", "infer_per_s") / get("mlp", "python", "infer_per_s")
        p99 = (get("mlp", "inferd", "p99_ms"), get("mlp", "python", "p99_ms"))
        limit = share(results["mlp"]["inferd"][i])
        bound = ceiling(at_level(results["mlp"], i))
        lines.append(f"- mlp: inferd = {ratio:.1f}x the Python baseline's throughput "
                     f"(target >= 5x), p99 {p99[0]:.2f} ms vs {p99[1]:.2f} ms (target: lower): "
                     f"{'met' if ratio >= 5 and p99[0] < p99[1] else 'MISSED'}")
        lines.append(f"- mlp: inferd = {limit:.2f}x the in-process limit at the same batch "
                     f"size (target >= 0.8x): {'met' if limit >= 0.8 else 'MISSED'}; "
                     f"the gRPC-bound ceiling on one server core is {bound:.2f}x")
    if "iris" in results:
        best = best_transport(at_level(results["iris"], i))
        ratio = get("iris", "inferd", "infer_per_s") / best
        lines.append(f"- iris: inferd = {ratio:.2f}x the better transport limit "
                     f"(target >= 0.7x): {'met' if ratio >= 0.7 else 'MISSED'}")
    return lines


def plot(all_results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib in .venv (scripts/bootstrap.sh installs it): plot skipped")
        return
    fig, axes = plt.subplots(1, len(all_results), figsize=(6 * len(all_results), 4.5))
    axes = axes if len(all_results) > 1 else [axes]
    for ax, (model, results) in zip(axes, all_results.items()):
        for system, rows in results.items():
            ax.plot([float(r["infer_per_s"]) for r in rows],
                    [float(r["p99_ms"]) for r in rows], marker="o", label=system)
        # The in-process limit at inferd's batch sizes: p99 of one forward
        # pass, no queueing or network (a floor, not a served latency).
        inferd = results["inferd"]
        ax.plot([r["limit_infer_per_s"] for r in inferd],
                [r["limit_p99_ms"] for r in inferd], marker="x", linestyle="--",
                color="black", label="limit (in-process, per forward pass)")
        ax.set_title(f"{model}: p99 latency vs throughput")
        ax.set_xlabel("inferences / s")
        ax.set_ylabel("p99 latency (ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_csv(all_results, path):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["model", "system", "concurrency", "infer_per_s", "p50_ms",
                      "p99_ms", "errors", "mean_batch", "limit_infer_per_s",
                      "limit_p99_ms"])
        for model, results in all_results.items():
            for system, rows in results.items():
                for r in rows:
                    out.writerow([model, system, r["concurrency"], r["infer_per_s"],
                                  r["p50_ms"], r["p99_ms"], r["errors"],
                                  r.get("mean_batch", ""), r.get("limit_infer_per_s", ""),
                                  r.get("limit_p99_ms", "")])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--models", default="mlp,iris")
    parser.add_argument("--concurrency", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--server-cpus", default="1")
    parser.add_argument("--client-cpus", default="0")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sweep on mlp; exit 1 unless every system "
                             "answered without errors")
    args = parser.parse_args()
    if args.smoke:
        args.models, args.concurrency, args.duration, args.warmup = "mlp", "1,4", 1, 0.3
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    os.makedirs(args.out, exist_ok=True)
    all_results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            all_results[model] = run_model(args, model, tmp)
    machine = subprocess.run(["sh", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo"],
                             capture_output=True, text=True).stdout.split("\n")
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
             f"{machine[0]} cores ({machine[1].split(':')[-1].strip()}); servers "
             f"pinned to CPU {args.server_cpus}, client to CPU {args.client_cpus}; "
             f"{args.duration:g} s per level after {args.warmup:g} s warm-up.", ""]
    for model, results in all_results.items():
        lines += report(model, results, args.concurrency) + [""]
        if "inferd-fixed" in results:
            lines += report_delay(results, args.concurrency) + [""]
        if "inferd-aoti" in results:
            lines += report_formats(results, args.concurrency) + [""]
    lines += targets(all_results, args.concurrency)
    open(os.path.join(args.out, "compare.md"), "w").write("\n".join(lines) + "\n")
    write_csv(all_results, os.path.join(args.out, "compare.csv"))
    if not args.smoke:
        plot(all_results, os.path.join(args.out, "compare.png"))
    print("\n".join(lines))
    bad = [(m, s, r["concurrency"]) for m, res in all_results.items()
           for s, rows in res.items() for r in rows
           if r["errors"] or float(r["infer_per_s"]) <= 0 or float(r["p99_ms"]) <= 0]
    if bad:
        print(f"FAIL: errors or empty results in {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
