"""A text for the demo-trained models' quality runs: held-out demo conversations as they were trained on.

    export/kotodama-export --python export/bench/demo_text.py --out FILE [--count 100] [--seed 7]
        [--tokenizer CKPT/tokenizer.json ...] [--ctx 256] [--min-chunks 10]

The demo Llama and the small Qwen3-MoE of moe_int4_accuracy.py know only the demo corpus, so a
perplexity or KL divergence on anything else measures noise. This writes --count conversations of the
corpus's held-out split (kotodama_export.demo.corpus, the seed the tests use) rendered whole with the
LLM-jp-4 chat template, prompt and answer, exactly the text demo/train.py tokenizes for a sample, and
concatenated with nothing between them: each ends with a special token and the next starts with one,
so the text tokenizes to the samples' ids one after the other. No newline at the end (llama-perplexity
drops one; HF tokenizers would not). The file is written under a temporary name and renamed.

For each --tokenizer (default: the embedded demo model's), prints the tokens and the chunks of --ctx
tokens that llama-perplexity makes of them, and fails if fewer than --min-chunks.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tokenizers import Tokenizer

from kotodama_export.demo import corpus
from kotodama_export.demo.checkpoint import EMBEDDED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the text file to write")
    parser.add_argument("--count", type=int, default=100, help="held-out conversations (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (default: %(default)s, as the tests)")
    parser.add_argument("--tokenizer", type=Path, action="append",
                        help="a tokenizer.json to count tokens with (repeatable; default: the embedded demo's)")
    parser.add_argument("--ctx", type=int, default=256, help="llama-perplexity's chunk (default: %(default)s)")
    parser.add_argument("--min-chunks", type=int, default=10, help="fail below this many chunks (default: %(default)s)")
    args = parser.parse_args()

    template = corpus.chat_template()
    text = "".join(corpus.render(c, template) for c in corpus.generate(args.count, seed=args.seed, split="held_out"))
    short = []
    for path in args.tokenizer or [EMBEDDED / "tokenizer.json"]:
        tokens = len(Tokenizer.from_file(str(path)).encode(text).ids)
        chunks = tokens // args.ctx
        print(f"{path}: {tokens} tokens, {chunks} chunks of {args.ctx}", file=sys.stderr)
        if chunks < args.min_chunks:
            short.append(str(path))
    if short:
        sys.exit(f"demo_text: fewer than {args.min_chunks} chunks of {args.ctx} tokens with {', '.join(short)}: "
                 "raise --count")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8", newline="")
        partial.rename(args.out)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {args.out}: {args.count} held-out conversations (seed {args.seed}), {len(text)} characters",
          file=sys.stderr)


if __name__ == "__main__":
    main()
