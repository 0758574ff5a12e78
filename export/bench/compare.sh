#!/usr/bin/env bash
# Single-stream speed of one model directory on Kotodama's Java decoder (dev.kotodama.bench.Bench) and
# on the newest onnxruntime-genai (genai_bench.py, in a venv of genai-requirements.txt that this builds
# on first use in the cache), one after the other (never together: they would share the cores), greedy,
# with the same prompt ids and thread count.
#   export/bench/compare.sh MODEL_DIR [PROMPT_TOKENS [NEW_TOKENS [THREADS]]]     (defaults: 512 64 2)
#   KOTODAMA_BENCH_CACHE   the cache (default: ~/.cache/kotodama-bench)
# Prints each side's progress, the load average before each run (other work on the machine skews the
# figures: repeat a run made under load), each side's JSON line, and whether the greedy tokens agree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${1:?usage: compare.sh MODEL_DIR [PROMPT_TOKENS [NEW_TOKENS [THREADS]]]}"
args=(--model "$model" --prompt-tokens "${2:-512}" --new-tokens "${3:-64}" --threads "${4:-2}")
cd "$root"
genai="${KOTODAMA_BENCH_CACHE:-$HOME/.cache/kotodama-bench}/genai-$(sha256sum export/bench/genai-requirements.txt | cut -c1-12)"
if [ ! -f "$genai/installed" ]; then
  echo "building the onnxruntime-genai venv $genai" >&2
  rm -rf "$genai"
  python3 -m venv "$genai"
  "$genai/bin/pip" install -q --disable-pip-version-check -r export/bench/genai-requirements.txt >&2
  touch "$genai/installed"  # only once pip succeeded
fi

./mvnw -q compile dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile=target/bench.classpath
echo "java, $(uptime)" >&2
# The class path goes through the environment, not -cp: ONNX Runtime 1.29.0 overflows the main
# thread's stack while starting in a process whose command line is longer than about 4 KB.
java_json="$(CLASSPATH="target/classes:$(cat target/bench.classpath)" java dev.kotodama.bench.Bench "${args[@]}" --greedy | tail -n 1)"
echo "genai, $(uptime)" >&2
genai_json="$("$genai/bin/python" export/bench/genai_bench.py "${args[@]}" | tail -n 1)"

echo "java  $java_json"
echo "genai $genai_json"
export/kotodama-export --python - "$java_json" "$genai_json" <<'PY'
import json, sys
java, genai = (json.loads(line)["tokens"] for line in sys.argv[1:])
same = next((i for i, (a, b) in enumerate(zip(java, genai)) if a != b), min(len(java), len(genai)))
print(f"greedy tokens agree for the first {same} of {len(java)} (genai produced {len(genai)})")
PY
