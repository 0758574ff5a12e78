#!/usr/bin/env bash
# llama.cpp, the benchmark peer of llama-server: built from the llama.cpp that PyPI's llama-cpp-python
# sdist vendors (a pinned release, fetched with pip like the exporter's packages), into a cache outside
# the repository. CPU only, GGML_NATIVE, no CURL, OpenSSL or web UI.
#   export/bench/llamacpp.sh build         download, unpack and build (skipped when built); prints the paths
#   export/bench/llamacpp.sh path          the bin directory (llama-server, llama-bench, llama-quantize, llama-cli,
#                                          llama-perplexity, llama-tokenize)
#   export/bench/llamacpp.sh bench GGUF [PROMPT_TOKENS [NEW_TOKENS [THREADS]]]   llama-bench's JSON (512 64 2)
#   KOTODAMA_BENCH_CACHE   the cache (default: ~/.cache/kotodama-bench)
#   KOTODAMA_LLAMACPP_AMX  off: build without ggml's AMX kernels, into a cache of its own (GGML_NATIVE compiles
#                          them in wherever the CPU advertises AMX; on a VM whose AMX crashes them, a segfault in
#                          any Q4_0 run, turning them off keeps llama.cpp's AVX-512 repacked kernels instead of
#                          falling back to --repack 0)
set -euo pipefail
version=0.3.36
# the llama.cpp commit that llama-cpp-python 0.3.36 vendors, and its upstream release tag (b11312): the
# sdist's git is shallow, so llama.cpp's own build-info would count 1 commit and call it b1
commit=0c1e57098bba43ac29e6e3b677cdceebdd22334f build_number=11312
dir="${KOTODAMA_BENCH_CACHE:-$HOME/.cache/kotodama-bench}/llama.cpp-$version"
cpu_flags=()
case "${KOTODAMA_LLAMACPP_AMX:-on}" in
  on) ;;
  off)  # GCC keeps explicit -mno-* over -march=native's defaults, so ggml's __AMX_INT8__ code is left out
    dir="$dir-noamx"
    cpu_flags=(-DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
               -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16") ;;
  *) echo "llamacpp.sh: KOTODAMA_LLAMACPP_AMX is on or off, not '$KOTODAMA_LLAMACPP_AMX'" >&2; exit 2 ;;
esac
tools=(llama-server llama-bench llama-quantize llama-cli llama-perplexity llama-tokenize)

built() {  # every tool of the list is there (a cache built before a tool joined it is built again)
  [ -f "$dir/bin/BUILD" ] || return 1
  for tool in "${tools[@]}"; do [ -x "$dir/bin/$tool" ] || return 1; done
}

build() {
  if built; then
    echo "llama.cpp already built: $(cat "$dir/bin/BUILD")" >&2
  else
    local started=$SECONDS sdist="$dir/llama_cpp_python-$version.tar.gz" head
    mkdir -p "$dir"
    if [ ! -f "$sdist" ]; then
      echo "downloading the llama-cpp-python $version sdist" >&2
      python3 -m pip download --disable-pip-version-check --no-deps --no-binary :all: -d "$dir" \
        "llama-cpp-python==$version" >&2
    fi
    head="$(tar -xOzf "$sdist" "llama_cpp_python-$version/.git/modules/vendor/llama.cpp/HEAD")"
    if [ "$head" != "$commit" ]; then
      echo "llamacpp.sh: the sdist vendors llama.cpp $head, not $commit" >&2
      exit 1
    fi
    echo "unpacking its vendor/llama.cpp (commit $head)" >&2
    rm -rf "$dir/src" "$dir/build" "$dir/bin"
    mkdir -p "$dir/src"
    tar -xzf "$sdist" -C "$dir/src" --strip-components=3 --exclude='*/vendor/llama.cpp/.git' \
      "llama_cpp_python-$version/vendor/llama.cpp"
    echo "configuring (log: $dir/configure.log)" >&2
    cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
      -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_NUMBER="$build_number" -DLLAMA_BUILD_COMMIT="${commit:0:7}" -DGGML_CCACHE=OFF "${cpu_flags[@]}" \
      >"$dir/configure.log" 2>&1 || { tail -n 30 "$dir/configure.log" >&2; exit 1; }
    echo "building ${tools[*]} (several minutes on 2 cores; log: $dir/build.log)" >&2
    cmake --build "$dir/build" --config Release -j2 --target "${tools[@]}" >"$dir/build.log" 2>&1 \
      || { tail -n 30 "$dir/build.log" >&2; exit 1; }
    mkdir -p "$dir/bin"
    for tool in "${tools[@]}"; do cp "$dir/build/bin/$tool" "$dir/bin/"; done
    rm "$sdist"
    "$dir/bin/llama-server" --version 2>&1 | tr '\n' ' ' | sed 's/ *$/\n/' >"$dir/bin/BUILD"
    echo "built in $((SECONDS - started)) s: $(cat "$dir/bin/BUILD")" >&2
  fi
  echo "llama-cpp-python $version vendors llama.cpp commit $commit (release b$build_number)" >&2
  echo "source: $dir/src" >&2
  echo "bin:    $dir/bin" >&2
}

case "${1:-}" in
  build) build ;;
  path) echo "$dir/bin" ;;
  bench)
    gguf="${2:?usage: llamacpp.sh bench GGUF [PROMPT_TOKENS [NEW_TOKENS [THREADS]]]}"
    echo "llama-bench, $(uptime)" >&2
    "$dir/bin/llama-bench" -m "$gguf" -p "${3:-512}" -n "${4:-64}" -t "${5:-2}" -o json ;;
  *) echo "usage: llamacpp.sh build | path | bench GGUF [PROMPT_TOKENS [NEW_TOKENS [THREADS]]]" >&2; exit 2 ;;
esac
