#!/usr/bin/env bash
# The sanitizer and lint stages of scripts/test.sh, each on what builds
# without LibTorch (-DINFERD_TORCH=OFF), with clang:
#
#   asan  every unit test binary (inferd_tests) under AddressSanitizer,
#         LeakSanitizer and UndefinedBehaviorSanitizer, in build-sanitize/
#         (scripts/asan_configure.sh; the fuzzers of scripts/fuzz.sh are
#         built there in the same run)
#   tsan  the batching and model_store unit tests under ThreadSanitizer, in
#         build-tsan/, with Abseil's synchronization library rebuilt from
#         Debian's source (.absl-src/, fetched by scripts/bootstrap.sh) so
#         that ThreadSanitizer sees absl::Mutex
#   asan_e2e  the server with its LibTorch backends (LibTorch itself is not
#         instrumented) under the same sanitizers, in build-asan-torch/: every
#         end-to-end GoogleTest binary (a server in-process) and the script
#         tests that start the real binary with hostile files, a drain, an
#         fd storm, a slow metrics client, Triton's client; on the models
#         CTest made (build/test_models, or $INFERD_TEST_MODELS). Every
#         sanitizer report of every process goes to a file there, and any
#         file fails the stage
#   tidy  clang-tidy (.clang-tidy, every finding an error) on the project's
#         sources in the compile commands of that ASan configuration,
#         configured in build-tidy/ (where only the protobuf headers are
#         generated)
#
#   scripts/sanitize.sh              # asan, tsan, tidy, in that order
#   scripts/sanitize.sh tsan tidy    # some
#
# Exits 1 when a stage fails; prints each stage's time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
stages=("$@")
if ((${#stages[@]} == 0)); then stages=(asan tsan tidy); fi

asan_options=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
ubsan_options=print_stacktrace=1:halt_on_error=1

asan() {
  local out
  out=$("$root/scripts/asan_configure.sh")
  # The fuzzers too: one ninja run keeps both cores busy to the end.
  cmake --build "$out" -j "$jobs" --target inferd_tests \
    http_codec_fuzz model_config_fuzz infer_request_fuzz
  ASAN_OPTIONS=$asan_options UBSAN_OPTIONS=$ubsan_options \
    ctest --test-dir "$out" --output-on-failure --timeout 300 -j "$jobs"
}

# Left out under ASan, whose allocator keeps freed memory in quarantine
# and adds shadow memory, so that resident-memory bounds do not hold: the
# RSS case of e2e_version_swap_test and the memory scenario of
# tests/adversarial_test.py (both run in CTest's stage).
asan_e2e_skip=UnloadTest.UnloadingAVersionGivesItsMemoryBack
asan_e2e() {
  local out models reports
  out=$("$root/scripts/asan_configure.sh" "$root/build-asan-torch" torch)
  models=${INFERD_TEST_MODELS:-$root/build/test_models}
  if [[ ! -d $models/good ]]; then
    echo "sanitize.sh: no test models in $models (CTest's make_test_models, or tests/make_test_models.sh $models)" >&2
    return 1
  fi
  local gtests
  mapfile -t gtests < <(ninja -C "$out" -t targets all |
    sed -n 's|^\(e2e_[a-z_]*_test\): phony.*|\1|p' | sort -u)
  if ((${#gtests[@]} < 10)); then
    echo "sanitize.sh: found ${#gtests[@]} e2e test targets in $out, expected at least 10" >&2
    return 1
  fi
  cmake --build "$out" -j "$jobs" --target inferd iris-client "${gtests[@]}"
  # clang-tidy on the sources that include LibTorch's headers, which the
  # tidy stage (a Torch-free configuration) cannot parse. Less one check:
  # bugprone-forward-declaration-namespace flags LibTorch's own forward
  # declaration of at::Tensor (ATen/core/blob.h) because inferd::Tensor
  # exists.
  local torch_sources
  mapfile -t torch_sources < <(grep -l '#include [<"]\(torch\|ATen\|c10\)/' \
    "$root"/model_store/backends/*.cc | grep -v '_test\.cc$')
  if ! run-clang-tidy-14 -quiet -p "$out" -j "$jobs" \
    -checks=-bugprone-forward-declaration-namespace "${torch_sources[@]}" \
    >"$out/clang-tidy.log" 2>&1; then
    grep -E "(warning|error):" "$out/clang-tidy.log" | sort -u >&2
    echo "sanitize.sh: clang-tidy found the above in ${torch_sources[*]##*/} (full log: $out/clang-tidy.log)" >&2
    return 1
  fi
  echo "sanitize.sh: clang-tidy on ${#torch_sources[@]} LibTorch sources: no finding"
  reports="$out/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  # detect_leaks=0: LeakSanitizer's own tracer crashed (signal 11, "LeakSanitizer
  # has encountered a fatal error") at the exit of LibTorch-linked test
  # binaries, 2 of 6 runs of e2e_iris_parity_test with every test passed;
  # the asan stage keeps leak checking for the Torch-free code.
  export ASAN_OPTIONS="$asan_options:detect_leaks=0:log_path=$reports/asan"
  export UBSAN_OPTIONS="$ubsan_options:log_path=$reports/ubsan"
  export INFERD_TEST_MODELS=$models
  local failed=() test log
  for test in "${gtests[@]}"; do
    log="$reports/../$test.log"
    "$out/bin/$test" --gtest_brief=1 --gtest_filter="-$asan_e2e_skip" \
      >"$log" 2>&1 || failed+=("$test (log: $log)")
  done
  for test in adversarial_files drain; do
    log="$reports/../$test.log"
    "$root/tests/${test}_test.sh" "$out" "$models" >"$log" 2>&1 ||
      failed+=("$test (log: $log)")
  done
  local name scenario
  for test in tritonclient_test fd_storm_test grpc_connection_test \
    "adversarial_test slow_metrics"; do
    read -r name scenario <<<"$test"
    log="$reports/../${test// /_}.log"
    "$root/.venv/bin/python" "$root/tests/$name.py" "$out" "$models" \
      ${scenario:+"$scenario"} >"$log" 2>&1 || failed+=("$test (log: $log)")
  done
  echo "sanitize.sh: asan_e2e ran ${#gtests[@]} e2e test binaries and 6 script tests; failed: ${#failed[@]}"
  if ((${#failed[@]} > 0)); then printf '  %s\n' "${failed[@]}" >&2; fi
  if compgen -G "$reports/*" >/dev/null; then
    cat "$reports"/* >&2
    echo "sanitize.sh: sanitizer reports above (in $reports)" >&2
    return 1
  fi
  ((${#failed[@]} == 0))
}

# absl::Mutex and absl::Notification wait on futexes inside
# libabsl_synchronization, which ThreadSanitizer does not see into: with
# Debian's (uninstrumented) library it reports races on every field a mutex
# guards. Built from Debian's source of the same version with
# -fsanitize=thread, the library calls ThreadSanitizer's mutex annotations
# (ABSL_TSAN_MUTEX_*). The same for libabsl_malloc_internal, whose arena lock
# (a SpinLock, annotated in its header) hands each thread's absl identity
# from one thread to another. They keep Debian's names (sonames), and the
# test binaries find them first through their run path (DT_RPATH, which also
# applies to the libraries that need them).
absl_version=20220623.1-1+deb12u2
absl_so=20220623
# NAME: sources under absl/, then the Debian libraries it links (as Debian's).
absl_tsan_libs=(
  "malloc_internal: base/internal/low_level_alloc.cc:
    base raw_logging_internal spinlock_wait"
  "synchronization: synchronization/mutex.cc synchronization/barrier.cc
    synchronization/blocking_counter.cc synchronization/notification.cc
    synchronization/internal/create_thread_identity.cc
    synchronization/internal/per_thread_sem.cc synchronization/internal/waiter.cc:
    graphcycles_internal stacktrace symbolize time malloc_internal base
    spinlock_wait raw_logging_internal"
)
build_tsan_absl() {
  local lib_dir=$1 src="$root/.absl-src/$absl_version"
  if [[ ! -f "$src/absl/synchronization/mutex.cc" ]]; then
    echo "sanitize.sh: no Abseil $absl_version source in .absl-src/ (scripts/bootstrap.sh fetches it for that libabsl-dev version; installed: $(dpkg-query -W -f='${Version}' libabsl-dev))" >&2
    return 1
  fi
  mkdir -p "$lib_dir"
  local entry name sources needs lib objects file
  for entry in "${absl_tsan_libs[@]}"; do
    IFS=: read -r name sources needs <<<"$(echo $entry)"
    lib="$lib_dir/libabsl_$name.so.$absl_so"
    [[ -f "$lib" ]] && continue
    objects=()
    for file in $sources; do objects+=("$lib_dir/${file//\//_}.o"); done
    # Flags as Debian's build (C++17, no NDEBUG), plus the sanitizer.
    printf '%s\n' $sources | xargs -P "$jobs" -I{} sh -c \
      'clang++ -std=c++17 -O1 -g -fPIC -fsanitize=thread -I "$1" -c "$1/absl/$2" -o "$3/$(echo "$2" | tr / _).o"' \
      sh "$src" {} "$lib_dir"
    clang++ -shared -fsanitize=thread -Wl,-Bsymbolic-functions \
      -Wl,-soname,"libabsl_$name.so.$absl_so" \
      -o "$lib" "${objects[@]}" $(printf -- "-l:libabsl_%s.so.$absl_so " $needs)
    rm "${objects[@]}"
  done
}

tsan() {
  local out="$root/build-tsan"
  build_tsan_absl "$out/absl"
  cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only -fsanitize=thread" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-DNDEBUG" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread -Wl,--disable-new-dtags,-rpath,$out/absl" \
    -DINFERD_TORCH=OFF -DINFERD_FUZZ=OFF -DINFERD_BUILD_TESTS=ON >/dev/null
  cmake --build "$out" -j "$jobs" --target batching/all model_store/all
  # The instrumented libraries, not Debian's, are what the tests load.
  if [[ $(ldd "$out/bin/worker_pool_test" | grep -c "$out/absl/libabsl_") != 2 ]]; then
    echo "sanitize.sh: the TSan tests do not load $out/absl's Abseil libraries" >&2
    return 1
  fi
  local dir
  for dir in batching model_store; do
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan_suppressions.txt" \
      ctest --test-dir "$out/$dir" --output-on-failure --timeout 300 -j "$jobs"
  done
}

# The project's own sources (not generated code, not fuzz/, not the tests):
# those in the compilation database of the ASan configuration, i.e.
# everything that builds without LibTorch. Headers are checked through them
# (HeaderFilterRegex). In its own build-tidy/, not build-sanitize/: it builds
# nothing there but the generated protobuf headers, so scripts/test.sh can
# run it in the background while the asan stage builds build-sanitize/.
tidy() {
  local out
  out=$("$root/scripts/asan_configure.sh" "$root/build-tidy")
  # The generated protobuf headers the sources include, and only those
  # (compiling the generated .pb.cc files is not needed to parse the
  # sources that include them).
  local headers
  mapfile -t headers < <(ninja -C "$out" -t targets all |
    sed -n 's|^\(proto/[^:]*\.pb\.h\): .*|\1|p')
  # No target at all would build everything.
  if ((${#headers[@]} == 0)); then
    echo "sanitize.sh: no protobuf headers among $out's targets" >&2
    return 1
  fi
  cmake --build "$out" --target "${headers[@]}" >/dev/null
  local files
  mapfile -t files < <(INFERD_ROOT="$root" python3 - "$out/compile_commands.json" <<'EOF'
import json, os, sys
root = os.environ["INFERD_ROOT"]
seen = set()
for e in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, root)
    if rel.startswith(("..", "build", "fuzz/")) or rel.endswith("_test.cc") \
            or rel in seen:
        continue
    seen.add(rel)
    print(path)
EOF
  )
  echo "sanitize.sh: clang-tidy on ${#files[@]} sources"
  run-clang-tidy-14 -quiet -p "$out" -j "$jobs" "${files[@]}" \
    > "$out/clang-tidy.log" 2>&1 || {
    grep -E "(warning|error):" "$out/clang-tidy.log" | sort -u >&2
    echo "sanitize.sh: clang-tidy found the above (full log: $out/clang-tidy.log)" >&2
    return 1
  }
}

status=0
for stage in "${stages[@]}"; do
  start=$SECONDS
  case "$stage" in
    asan | asan_e2e | tsan | tidy) ;;
    *) echo "sanitize.sh: unknown stage $stage (asan, asan_e2e, tsan, tidy)" >&2; exit 2 ;;
  esac
  # A subshell with set -e of its own: a failing command fails the stage
  # (before 2026-12-03 the subshell inherited the set +e below, and only
  # the stage's last command counted: tsan's batching tests could fail
  # unseen).
  set +e
  (set -e; "$stage")
  rc=$?
  set -e
  if ((rc == 0)); then result=ok; else result=FAILED; status=1; fi
  echo "sanitize.sh: $stage $result in $((SECONDS - start)) s"
done
exit "$status"
