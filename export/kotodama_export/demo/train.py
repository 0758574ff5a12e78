"""Train the demo model: a small LLM-jp-4-8b-shaped Llama on the synthetic Harmony corpus.

Run: ``kotodama-export --python -m kotodama_export.demo.train --out DIR [--steps N]``. Deterministic
(fixed seeds, 2 threads); prints progress with tokens/s and loss, and the run time at the end. Writes
an HF checkpoint (config.json, model.safetensors, tokenizer files) that appears whole or not at all.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel

from ..atomic import atomic_directory
from . import corpus, tokenizer

SEED = 1234
PAD_ID = 4  # <|endoftext|>, the pad token of LLM-jp-4
STEPS = 2000
SAMPLES = 40000
TOKENS_PER_BATCH = 4096
LR = 3e-3
ASSISTANT_SPAN = re.compile(r"<\|start\|>assistant.*?(?:<\|end\|>|<\|return\|>|<\|call\|>)", re.S)


def model_config(vocab_size: int) -> LlamaConfig:
    """The llm-jp-4-8b architecture (Llama, GQA 4:1, untied), shrunk to about 4M parameters.

    RoPE theta is 10,000, not 500,000: with 32-wide heads and short contexts that keeps more rotary
    frequencies useful for finding positions (copying operands from the prompt).
    """
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=2, head_dim=32, max_position_embeddings=1024,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False,
        mlp_bias=False, bos_token_id=1, eos_token_id=[2, 13], pad_token_id=PAD_ID, torch_dtype="float32",
    )


def encode(tok: Tokenizer, text: str) -> tuple[list[int], list[bool]]:
    """Token ids and, per token, whether it lies in an assistant message (the loss is taken there)."""
    enc = tok.encode(text)
    spans = [m.span() for m in ASSISTANT_SPAN.finditer(text)]
    mask = [any(s <= start < e for s, e in spans) for start, _ in enc.offsets]
    return enc.ids, mask


def batches(samples: list, tokens_per_batch: int, rng: random.Random):
    """Endless batches of samples of similar length, each padded to at most ``tokens_per_batch`` tokens.

    Samples are shuffled, sorted by length within pools of a few hundred, cut into batches and the
    batches shuffled again: little padding, and every epoch a different order.
    """
    pool = 512
    while True:
        order = list(range(len(samples)))
        rng.shuffle(order)
        cut = []
        for p in range(0, len(order), pool):
            group = sorted(order[p:p + pool], key=lambda j: len(samples[j][0]))
            batch: list[int] = []
            for j in group:
                if batch and (len(batch) + 1) * len(samples[j][0]) > tokens_per_batch:
                    cut.append(batch)
                    batch = []
                batch.append(j)
            cut.append(batch)
        rng.shuffle(cut)
        for batch in cut:
            chunk = [samples[j] for j in batch]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), width), PAD_ID, dtype=torch.long)  # [batch, seq]
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)  # [batch, seq]
            for r, (x, m) in enumerate(chunk):
                ids[r, :len(x)] = torch.tensor(x)
                labels[r, :len(x)] = torch.where(torch.tensor(m), torch.tensor(x), torch.tensor(-100))
            yield ids, labels


def demo_model(vocab_size: int) -> LlamaForCausalLM:
    return LlamaForCausalLM(model_config(vocab_size))


def train(out: Path, *, steps: int, samples: int, tokens_per_batch: int, lr: float, force: bool,
          make_model: Callable[[int], PreTrainedModel] = demo_model) -> None:
    """Trains ``make_model(vocab_size)`` (the demo Llama unless a benchmark asks for another model)."""
    t0 = time.time()
    torch.manual_seed(SEED)
    random.seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    template = corpus.chat_template()
    texts = [corpus.render(c, template) for c in corpus.generate(samples, seed=SEED)]
    with atomic_directory(out, force) as staging:
        tok_path = tokenizer.build(texts, staging)
        tok = Tokenizer.from_file(str(tok_path))
        data = [encode(tok, t) for t in texts]
        n_tok = sum(len(x) for x, _ in data)
        print(f"corpus: {len(texts)} conversations, {n_tok} tokens ({n_tok / len(texts):.0f} per sample),"
              f" vocab {tok.get_vocab_size()}, prepared in {time.time() - t0:.1f} s", flush=True)
        model = make_model(tok.get_vocab_size())
        with torch.no_grad():  # untied, but starting equal: copying a token from the prompt is learned far sooner
            model.lm_head.weight.copy_(model.model.embed_tokens.weight)
        params = sum(p.numel() for p in model.parameters())
        print(f"model: {params / 1e6:.2f}M parameters ({params * 4 / 2**20:.1f} MiB in fp32)", flush=True)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
        warmup = max(1, steps // 20)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))))
        model.train()
        stream = batches(data, tokens_per_batch, random.Random(SEED))
        t_train, seen, window = time.time(), 0, []
        for step in range(1, steps + 1):
            ids, labels = next(stream)
            with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16 matmuls, fp32 weights: 1.4x faster here
                loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            seen += ids.numel()
            window.append(loss.item())
            if step % 25 == 0 or step == steps:
                dt = time.time() - t_train
                print(f"step {step}/{steps} loss {sum(window) / len(window):.4f} lr {sched.get_last_lr()[0]:.2e}"
                      f" {seen / dt:.0f} tok/s {dt / step:.3f} s/step elapsed {dt:.0f} s", flush=True)
                window = []
        model.save_pretrained(staging, safe_serialization=True)
    print(f"wrote {out} in {time.time() - t0:.0f} s total", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--samples", type=int, default=SAMPLES)
    p.add_argument("--tokens-per-batch", type=int, default=TOKENS_PER_BATCH)
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    train(a.out, steps=a.steps, samples=a.samples, tokens_per_batch=a.tokens_per_batch, lr=a.lr, force=a.force)


if __name__ == "__main__":
    main()
