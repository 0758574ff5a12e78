#!/usr/bin/env bash
# Single-stream speed of one model directory on Kotodama's Java decoder (dev.kotodama.bench.Bench), on
# the newest onnxruntime-genai (genai_bench.py, in a venv of genai-requirements.txt that this builds on
# first use in the cache) and, given a GGUF of the same shape, on llama.cpp (llama-bench, built by
# llamacpp.sh), one after the other (never together: they would share the cores), greedy, with the same
# prompt ids (llama-bench: its own) and thread count.
#   export/bench/compare.sh MODEL_DIR [PROMPT_TOKENS [NEW_TOKENS [THREADS [GGUF]]]]     (defaults: 512 64 2)
#   KOTODAMA_BENCH_CACHE   the cache (default: ~/.cache/kotodama-bench)
#   KOTODAMA_LLAMACPP_AMX  as for llamacpp.sh (off: its build without ggml's AMX kernels)
# The GGUF comes from the checkpoint the directory was exported from: export/bench/llamacpp_gguf.py.
# llama-bench measures prefill as PROMPT_TOKENS from an empty context and decode as NEW_TOKENS after a
# context of PROMPT_TOKENS (-d), 3 repetitions, their mean; Bench and genai time one generation of both.
# Prints each side's progress, the load average before each run (other work on the machine skews the
# figures: repeat a run made under load), each side's JSON line, whether the greedy tokens of Kotodama
# and genai agree, and a table of the three.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${1:?usage: compare.sh MODEL_DIR [PROMPT_TOKENS [NEW_TOKENS [THREADS [GGUF]]]]}"
prompt="${2:-512}" new="${3:-64}" threads="${4:-2}" gguf="${5:-}"
args=(--model "$model" --prompt-tokens "$prompt" --new-tokens "$new" --threads "$threads")
if [ -n "$gguf" ] && [ ! -f "$gguf" ]; then
  echo "compare.sh: $gguf does not exist; write it with export/bench/llamacpp_gguf.py --checkpoint CKPT --out $gguf" >&2
  exit 2
fi
cd "$root"
if [ -n "$gguf" ]; then
  export/bench/llamacpp.sh build >&2
  bench="$(export/bench/llamacpp.sh path)/llama-bench"
fi
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

llama_json=""
if [ -n "$gguf" ]; then
  echo "llama.cpp, $(uptime)" >&2
  # one JSON object per line: the prefill test (-n 0), then the decode test after PROMPT_TOKENS (-p 0 -d)
  llama_prefill="$("$bench" -m "$gguf" -p "$prompt" -n 0 -t "$threads" -r 3 -o jsonl)"
  llama_decode="$("$bench" -m "$gguf" -p 0 -n "$new" -d "$prompt" -t "$threads" -r 3 -o jsonl)"
  llama_json="$llama_prefill
$llama_decode"
fi

echo "java  $java_json"
echo "genai $genai_json"
[ -z "$llama_json" ] || echo "llama.cpp $(echo "$llama_json" | tr '\n' ' ')"
export/kotodama-export --python - "$java_json" "$genai_json" "$llama_json" <<'PY'
import json, sys
java, genai = (json.loads(line) for line in sys.argv[1:3])
same = next((i for i, (a, b) in enumerate(zip(java["tokens"], genai["tokens"])) if a != b),
            min(len(java["tokens"]), len(genai["tokens"])))
print(f"greedy tokens agree for the first {same} of {len(java['tokens'])} (genai produced {len(genai['tokens'])})")
rows = [("Kotodama (Java)", java["prefill_tok_s"], java["decode_tok_s"]),
        ("onnxruntime-genai", genai["prefill_tok_s"], genai["decode_tok_s"])]
llama = [json.loads(line) for line in sys.argv[3].splitlines() if line.strip()]
if llama:
    prefill = next(r for r in llama if r["n_gen"] == 0)
    decode = next(r for r in llama if r["n_prompt"] == 0)
    rows.append((f"llama.cpp {prefill['build_commit']} ({prefill['type_k']} KV, {prefill['model_type']})",
                 prefill["avg_ts"], decode["avg_ts"]))
print(f"\n{java['cpu']}\n| runtime | prefill tok/s | decode tok/s |\n|---|---|---|")
for name, p, d in rows:
    print(f"| {name} | {p:.1f} | {d:.2f} |")
PY
