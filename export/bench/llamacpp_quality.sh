#!/usr/bin/env bash
# llama.cpp's own 4-bit quality, the peer of our int4 export's: a Hugging Face LlamaForCausalLM checkpoint is
# converted to an F32 GGUF with llama.cpp's convert_hf_to_gguf.py, quantized to Q4_0 and Q4_K_M with llama-quantize
# (its default mixes, as users get them), and llama-perplexity scores each quant against the F32 GGUF on a text.
#   export/bench/llamacpp_quality.sh [--converter auto|llama.cpp|kotodama] [--hf-ids] \
#     CHECKPOINT_DIR TEXT_FILE [CTX [THREADS]]   (auto, 256 2)
# A checkpoint whose tokenizer.json is a SentencePiece Unigram model (LLM-jp-4's kind, the demo models' own), which
# convert_hf_to_gguf.py cannot read, gets its F32 GGUF from llamacpp_gguf.py instead (--converter auto picks it; a
# Llama or a Qwen3-MoE): llama.cpp's SPM tokenizer over the checkpoint's own pieces, as convert_hf_to_gguf.py writes
# a SentencePiece .model. Two ways its ids part from the model's own tokenizer: the SPM tokenizer merges pieces
# pairwise by score instead of finding the best Unigram segmentation, so a word whose halves are no pieces stays in
# characters; and llama-perplexity tokenizes with special-token parsing off, which leaves control tokens as
# characters, and llama.cpp makes <|return|>, <|call|>, <|endoftext|> control whatever the GGUF says (by their text).
# --hf-ids (kotodama converter only) measures on Hugging Face tokenizers' ids instead: the GGUFs' token texts are id
# markers (llamacpp_gguf.py --id-markers; weights the same) and llama-perplexity reads the text's HF ids as markers.
# Prints one line per quant, the tensor types each GGUF holds, and last a JSON line:
#   {"ctx":..,"text":..,"chunks":..,"tokens_scored":..,"tokens_match_hf":..,"params":..,"converter":..,"ids":..,
#    "f32":{"ppl","bytes"},"q4_0":{"kl","top1","ppl","bytes","bpw","tensor_bpw"},"q4_k_m":{..}}
# kl is llama-perplexity's "Mean KLD" (nats), top1 its "Same top p" (fraction), ppl its PPL over the same
# positions; bpw = 8 * file bytes / parameters, tensor_bpw the same for the tensor data alone (no metadata).
# tokens_match_hf says whether HF tokenizers (the checkpoint's tokenizer.json) gives the token ids that
# llama-perplexity evaluated, which are written to WORK/tokens.json (chunks * CTX ids); when not, tokens_first_mismatch
# is the first index where they part and tokens_hf the text's length in HF tokens. ids: "llama.cpp" (its tokenizer's)
# or "hf" (--hf-ids).
# How llama-perplexity scores (llama.cpp b11312, tools/perplexity/perplexity.cpp): the text is tokenized once
# (with BOS first if the GGUF says add_bos_token), cut into floor(tokens / CTX) chunks of CTX tokens (the rest is
# dropped), each chunk evaluated from an empty cache (position 0 replaced by BOS if add_bos_token), and the tokens
# at chunk positions CTX/2+1 .. CTX-1 are scored, CTX/2-1 per chunk. Needs at least 2*CTX tokens.
# The F32 GGUF and the quants are kept under the bench cache, keyed by the checkpoint's path (and the converter and
# --hf-ids when not convert_hf_to_gguf.py's): delete the work dir after changing a checkpoint in place.
#   KOTODAMA_BENCH_CACHE   the cache (default: ~/.cache/kotodama-bench)
set -euo pipefail
usage="usage: llamacpp_quality.sh [--converter auto|llama.cpp|kotodama] [--hf-ids] CHECKPOINT_DIR TEXT_FILE"
usage+=" [CTX [THREADS]]"
converter=auto hf_ids=0
while [ $# -gt 0 ]; do
  case "$1" in
    --converter) converter="${2:?$usage}"; shift 2 ;;
    --hf-ids) hf_ids=1; shift ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) break ;;
  esac
done
checkpoint="$(realpath "${1:?$usage}")" text="$(realpath "${2:?$usage}")" ctx="${3:-256}" threads="${4:-2}"
here="$(cd "$(dirname "$0")" && pwd)"
python="$here/../.venv/bin/python"

"$here/llamacpp.sh" build
bin="$("$here/llamacpp.sh" path)"
src="$(realpath "$bin/../src")"
export PYTHONPATH="$src/gguf-py"  # llama.cpp's own gguf package, the one its converter uses
if [ "$converter" = auto ]; then
  unigram="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1], "rb"))["model"]["type"] == "Unigram")' \
    "$checkpoint/tokenizer.json")"
  converter="$([ "$unigram" = True ] && echo kotodama || echo llama.cpp)"
fi
case "$converter" in llama.cpp|kotodama) ;; *) echo "$usage" >&2; exit 2 ;; esac
if [ "$hf_ids" = 1 ] && [ "$converter" != kotodama ]; then
  echo "llamacpp_quality: --hf-ids needs the kotodama converter (llamacpp_gguf.py writes the id markers)" >&2
  exit 2
fi
key="$checkpoint"
if [ "$converter" = kotodama ]; then key="$key kotodama"; fi
if [ "$hf_ids" = 1 ]; then key="$key hf-ids"; fi
work="${KOTODAMA_BENCH_CACHE:-$HOME/.cache/kotodama-bench}/quality-$(printf %s "$key" | sha256sum | cut -c1-12)"
mkdir -p "$work"
echo "checkpoint $checkpoint, F32 GGUF by $converter, $([ "$hf_ids" = 1 ] && echo HF || echo "llama.cpp's") ids," \
  "work dir $work" >&2

if [ ! -f "$work/f32.gguf" ]; then
  echo "converting to an F32 GGUF (log: $work/convert.log)" >&2
  if [ "$converter" = kotodama ]; then  # writes f32.gguf whole or not at all
    vocab=(--tokenizer-json)
    if [ "$hf_ids" = 1 ]; then vocab=(--id-markers); fi
    PYTHONPATH="$here/..:$PYTHONPATH" "$python" "$here/llamacpp_gguf.py" --checkpoint "$checkpoint" \
      --out "$work/f32.gguf" --outtype f32 --no-quantize "${vocab[@]}" >"$work/convert.log" 2>&1 \
      || { tail -n 30 "$work/convert.log" >&2; exit 1; }
  else
    "$python" "$src/convert_hf_to_gguf.py" "$checkpoint" --outtype f32 --outfile "$work/f32.gguf.tmp" \
      >"$work/convert.log" 2>&1 || { tail -n 30 "$work/convert.log" >&2; exit 1; }
    mv "$work/f32.gguf.tmp" "$work/f32.gguf"
  fi
fi
for q in Q4_0 Q4_K_M; do
  if [ ! -f "$work/$q.gguf" ]; then
    echo "quantizing to $q (log: $work/$q.quantize.log)" >&2
    "$bin/llama-quantize" "$work/f32.gguf" "$work/$q.gguf.tmp" "$q" "$threads" \
      >"$work/$q.quantize.log" 2>&1 || { tail -n 30 "$work/$q.quantize.log" >&2; exit 1; }
    mv "$work/$q.gguf.tmp" "$work/$q.gguf"
  fi
done

ppl_text="$text"
if [ "$hf_ids" = 1 ]; then  # the text's HF ids as id markers, which the --id-markers GGUFs read back as those ids
  ppl_text="$work/text.hf-ids.txt"
  PYTHONPATH="$here:$here/..:$PYTHONPATH" "$python" - "$checkpoint" "$text" "$ppl_text" <<'PY'
import sys
from pathlib import Path
from llamacpp_gguf import id_marker, perplexity_ids
checkpoint, text, out = sys.argv[1:]
ids = perplexity_ids(Path(checkpoint) / "tokenizer.json", Path(text))
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("".join(id_marker(i) for i in ids))
PY
fi

base="$work/f32.kld-base"  # the F32 model's log-probabilities: n_chunks * (CTX/2-1) * (n_vocab+4) * 2 bytes
trap 'rm -f "$base"' EXIT
# --no-repack: GGML_NATIVE compiles in ggml's AMX kernels when the CPU advertises AMX, and a VM that does not enable
# AMX's tile state (this one) then crashes in them on Q4 weights; the plain kernels quantize activations the same way.
# --no-escape: otherwise llama.cpp's tools turn the \n, \", \\ ... written in a -f text into the characters they name
ppl=("$bin/llama-perplexity" -f "$ppl_text" -c "$ctx" -t "$threads" --no-repack --no-escape
     --kl-divergence-base "$base")
# run_ppl LOG LAST_LINE ARGS...: runs llama-perplexity once more if its log lacks the summary's last line (seen once:
# a log that stopped a chunk before the end of a run that exited 0; the rerun's was whole)
run_ppl() {
  local log="$work/$1" last="$2" attempt
  shift 2
  for attempt in 1 2; do
    "${ppl[@]}" "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
    if grep -q "$last" "$log"; then return; fi
    echo "llamacpp_quality: $log has no '$last' line (attempt $attempt)" >&2
  done
  exit 1
}
echo "llama-perplexity on F32 (log: $work/F32.ppl.log)" >&2
run_ppl F32.ppl.log "Final estimate: PPL" -m "$work/f32.gguf"
for q in Q4_0 Q4_K_M; do
  echo "llama-perplexity --kl-divergence on $q (log: $work/$q.ppl.log)" >&2
  run_ppl "$q.ppl.log" "Same top p:" --kl-divergence -m "$work/$q.gguf"
done

PYTHONPATH="$here:$here/..:$PYTHONPATH" "$python" - "$work" "$text" "$ctx" "$checkpoint" "$converter" "$hf_ids" <<'EOF'
import collections, json, os, re, struct, sys
from pathlib import Path
from gguf import GGUFReader
from llamacpp_gguf import perplexity_ids

work, text, ctx, checkpoint, converter = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
on_hf_ids = sys.argv[6] == "1"

def grab(log, pattern):
    found = re.findall(pattern, open(os.path.join(work, log), encoding="utf-8", errors="replace").read())
    if not found:
        sys.exit(f"llamacpp_quality: {pattern!r} not found in {work}/{log}")
    return float(found[-1])

def tensors(name):
    return GGUFReader(os.path.join(work, name)).tensors

# the base file starts with the token ids llama-perplexity evaluated: "_logits_", n_ctx, n_vocab, n_chunk, ids
with open(os.path.join(work, "f32.kld-base"), "rb") as f:
    _, _, _, chunks = struct.unpack("<8s3i", f.read(20))
    ids = list(struct.unpack(f"<{chunks * ctx}i", f.read(4 * chunks * ctx)))
with open(os.path.join(work, "tokens.json"), "w") as f:
    json.dump(ids, f)
# llama-perplexity's -f drops one trailing newline; does HF tokenizers give the same ids?
hf_ids = perplexity_ids(Path(checkpoint) / "tokenizer.json", Path(text))
same = hf_ids[:len(ids)] == ids
params = sum(int(t.n_elements) for t in tensors("f32.gguf"))
result = {"ctx": ctx, "text": text, "chunks": chunks, "tokens_scored": chunks * (ctx - 1 - ctx // 2),
          "tokens_match_hf": same, "params": params, "converter": converter, "ids": "hf" if on_hf_ids else "llama.cpp"}
if not same:
    result["tokens_first_mismatch"] = next((i for i, (a, b) in enumerate(zip(hf_ids, ids)) if a != b), len(hf_ids))
    result["tokens_hf"] = len(hf_ids)
result["f32"] = {"ppl": grab("F32.ppl.log", r"Final estimate: PPL = ([\d.]+)"),
                 "bytes": os.path.getsize(os.path.join(work, "f32.gguf"))}
lines, types = [], []
for q in ("Q4_0", "Q4_K_M"):
    size = os.path.getsize(os.path.join(work, f"{q}.gguf"))
    held = tensors(f"{q}.gguf")
    r = result[q.lower()] = {
        "kl": grab(f"{q}.ppl.log", r"Mean    KLD:\s+([-\d.]+)"),
        "top1": round(grab(f"{q}.ppl.log", r"Same top p:\s+([\d.]+)") / 100, 5),
        "ppl": grab(f"{q}.ppl.log", r"Mean PPL\(Q\)\s+:\s+([\d.]+)"),
        "bytes": size, "bpw": round(8 * size / params, 4),
        "tensor_bpw": round(8 * sum(int(t.n_bytes) for t in held) / params, 4)}
    lines.append(f"{q:7} KLD {r['kl']:.6f}  same top {100 * r['top1']:.3f} %  PPL {r['ppl']:.4f} (F32 {result['f32']['ppl']:.4f})"
          f"  {size / 1e6:.1f} MB  {r['bpw']:.3f} bpw ({r['tensor_bpw']:.3f} in tensors)")
    kinds = collections.defaultdict(collections.Counter)  # tensor role (blk.N. dropped) -> type -> count
    for t in held:
        kinds[re.sub(r"^blk\.\d+\.", "", t.name)][t.tensor_type.name] += 1
    total = collections.Counter(t.tensor_type.name for t in held)
    types.append(f"{q} tensor types: " + ", ".join(f"{k} x{n}" for k, n in total.most_common()))
    types += [f"  {role:22} " + ", ".join(f"{k} x{n}" for k, n in c.most_common()) for role, c in sorted(kinds.items())]
print("\n".join(lines + types))
print(json.dumps(result))
EOF
