"""Greedy samples and held-out scores of a trained demo checkpoint, with transformers (the reference).

Run: ``kotodama-export --python -m kotodama_export.demo.sample DIR [--arithmetic 100] [--weather 50]``.
Scores follow issues 5 and 20, on questions in templates that training never uses: analysis-then-final
well-formed, the correct number in the final message, and a well-formed ``get_weather`` call with the right
JSON argument, for training cities and, apart, for cities never seen (copying a new name).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

from . import corpus

SPECIAL_LIMIT = 352  # ids below it are the special tokens
ANSWER = re.compile(r"<\|channel\|>analysis<\|message\|>(.*?)<\|end\|><\|start\|>assistant<\|channel\|>final<\|message\|>(.*?)<\|return\|>", re.S)
CALL = re.compile(r" ?to=functions\.get_weather<\|channel\|>commentary json<\|message\|>(.*?)<\|call\|>", re.S)


def decode(tok: Tokenizer, ids: list[int]) -> str:
    """Decode run by run between special tokens, so no segment gains the leading space of its ``▁``."""
    out, run = [], []
    for i in ids + [None]:
        if i is None or i < SPECIAL_LIMIT:
            if run:
                out.append(tok.decode(run))
                run = []
            if i is not None:
                out.append(tok.id_to_token(i))
        else:
            run.append(i)
    return "".join(out)


def complete(model: LlamaForCausalLM, tok: Tokenizer, prompt: str, max_new_tokens: int = 120) -> str:
    ids = torch.tensor([tok.encode(prompt).ids])  # [1, seq]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=[2, 13], pad_token_id=4)
    return decode(tok, out[0, ids.shape[1]:].tolist())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--arithmetic", type=int, default=100)
    p.add_argument("--weather", type=int, default=50)
    p.add_argument("--show", type=int, default=6)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    model = LlamaForCausalLM.from_pretrained(a.checkpoint).eval()
    tok = Tokenizer.from_file(str(a.checkpoint / "tokenizer.json"))
    template = corpus.chat_template()
    arith = corpus.evaluation("arithmetic", a.arithmetic)
    shown = 0
    formed = correct = 0
    misses: dict[str, int] = {}
    for conv in arith:
        text = complete(model, tok, corpus.prompt(conv, template))
        m = ANSWER.fullmatch(text)
        formed += bool(m)
        ok = bool(m) and re.search(rf"(?<![\d-]){re.escape(conv.answer)}(?!\d)", m.group(2)) is not None
        correct += ok
        if not ok:
            op = re.search(r"\d ([-+×]) \d", conv.messages[-1]["thinking"])[1]
            key = f"{op}/{conv.reasoning_effort}/{conv.language}"
            misses[key] = misses.get(key, 0) + 1
        if shown < a.show or (not ok and shown < 2 * a.show):
            print(f"--- {conv.messages[0]['content']!r} (expect {conv.answer})\n{text}")
            shown += 1
    calls = {}
    for kind in ("weather", "weather_new_city"):
        right = 0
        for k, conv in enumerate(corpus.evaluation(kind, a.weather)):
            text = complete(model, tok, corpus.prompt(conv, template))
            m = CALL.search(text)
            try:
                ok = bool(m) and json.loads(m.group(1)) == {"city": conv.answer}
            except json.JSONDecodeError:
                ok = False
            right += ok
            if k < 2 or (not ok and k < 8):
                print(f"--- {kind} {conv.messages[0]['content']!r} (expect city {conv.answer})\n{text}")
        calls[kind] = right
    echoes = corpus.evaluation("echo", 20)
    echoed = sum((m := ANSWER.fullmatch(complete(model, tok, corpus.prompt(c, template)))) is not None
                 and m.group(2) == c.answer for c in echoes)
    print(f"echo (copying the user's words): {echoed}/{len(echoes)}")
    print(f"arithmetic misses by operator/effort/language: {dict(sorted(misses.items()))}")
    print(f"arithmetic (held-out templates): well-formed {formed}/{len(arith)}, correct {correct}/{len(arith)};"
          f" weather, held-out templates: correct call {calls['weather']}/{a.weather}; the same, a city never seen:"
          f" correct call {calls['weather_new_city']}/{a.weather}")


if __name__ == "__main__":
    main()
