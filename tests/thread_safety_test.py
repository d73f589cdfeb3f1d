"""Clang's thread-safety analysis over every C++ source of the project.

The code annotates what each mutex guards (ABSL_GUARDED_BY,
ABSL_EXCLUSIVE_LOCKS_REQUIRED, ...); GCC, which builds inferd, ignores the
annotations. This runs clang++ -fsyntax-only -Wthread-safety
-Werror=thread-safety on each source of the server, its libraries and tools
(not the tests) with the flags of BUILD_DIR/compile_commands.json (nothing
is compiled or linked), two at a time, and fails on any finding.

With INFERD_THREAD_SAFETY_COVERED_BY naming another compile database
that exists (scripts/test.sh names clang-tidy's, which reports the same
findings), the sources listed there are left out.

Usage: thread_safety_test.py BUILD_DIR [SOURCE_ROOT]
Exit 0 pass, 1 findings, 77 without clang++.
"""
import concurrent.futures
import json
import os
import shlex
import shutil
import subprocess
import sys


def clang_command(entry):
    """The compile command of `entry` as a clang syntax-only check."""
    args = shlex.split(entry["command"]) if "command" in entry \
        else list(entry["arguments"])
    out = ["clang++"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
                  "-Wno-unknown-warning-option"]


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    root = os.path.abspath(sys.argv[2] if len(sys.argv) == 3 else
                           os.path.join(os.path.dirname(__file__), ".."))
    if shutil.which("clang++") is None:
        print("thread_safety_test: SKIP: no clang++")
        return 77
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    # scripts/test.sh runs clang-tidy, which reports the same analysis
    # (clang-diagnostic-thread-safety*) on the sources of its own compile
    # database, and names that database here: those are left to it.
    covered = set()
    elsewhere = os.environ.get("INFERD_THREAD_SAFETY_COVERED_BY")
    if elsewhere and os.path.exists(elsewhere):
        with open(elsewhere) as f:
            covered = {os.path.abspath(os.path.join(e["directory"], e["file"]))
                       for e in json.load(f)}
    chosen = {}
    for entry in entries:
        path = os.path.abspath(os.path.join(entry["directory"], entry["file"]))
        rel = os.path.relpath(path, root)
        # The project's own sources, not generated ones (under the build
        # directory) nor the venv's; not the tests (half the time, and the
        # server is what must be right).
        if rel.startswith("..") or path.startswith(build + os.sep) or \
                rel.startswith((".venv", ".cuda")) or \
                rel.endswith("_test.cc") or rel.startswith("tests/"):
            continue
        if path in covered:
            continue
        chosen.setdefault(rel, entry)

    def check(item):
        rel, entry = item
        run = subprocess.run(clang_command(entry), cwd=entry["directory"],
                             capture_output=True, text=True)
        return rel, run.returncode, run.stderr

    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for rel, code, err in pool.map(check, sorted(chosen.items())):
            if code != 0:
                failures += 1
                print(f"thread_safety_test: {rel}:\n{err}", file=sys.stderr)
    print(f"thread_safety_test: {len(chosen)} sources, {failures} with "
          f"findings")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
