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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import AttentionInterface, AttentionMaskInterface, LlamaConfig, LlamaForCausalLM, PreTrainedModel
from transformers.masking_utils import eager_mask

from ..atomic import atomic_directory
from ..random_checkpoint import shared_dir
from . import corpus, tokenizer

SEED = 1234
PAD_ID = 4  # <|endoftext|>, the pad token of LLM-jp-4
STEPS = 4200
SAMPLES = 40000
TOKENS_PER_BATCH = 2048  # after the shared prefix
LR = 1e-3
ASSISTANT_SPAN = re.compile(r"<\|start\|>assistant.*?(?:<\|end\|>|<\|return\|>|<\|call\|>)", re.S)
CALL_ARGUMENTS = re.compile(r"commentary json<\|message\|>(.*?<\|call\|>)", re.S)
# The tool call's JSON arguments are a few tokens in a thousand, yet what a call must get right: their
# loss counts this many times. With eight question wordings instead of four, it took the held-out calls
# from 29 to 42 right of 50 (one run each, transformers).
CALL_WEIGHT = 4.0
# Likewise the digits the assistant writes: an answer is its number, and the misses were single-digit
# facts inside the worked columns ("9 - 8 - 0 = 0"). Held-out arithmetic: 58 right of 100 without it at
# 3,100 steps, 87 with it at 3,500 (one run each, transformers).
DIGIT_WEIGHT = 2.0
# Copying a string out of the prompt (a city's name into the tool call, an expression's operands into the
# reasoning) is what a question in a template never seen needs. On pure copying (a random string of pieces,
# then the same again) this model learns it in a sudden change, by step 500 at a learning rate of 1e-3
# (never at 3e-3, the recipe's rate before); copying first and then one step in eight took the held-out
# arithmetic templates from 58 to 92 right of 100 (transformers, one run each). That copying can go by
# position (the repeat starts after the one line break), and drilling the call's own place (corpus.call_drills)
# alone stalled with every name piece at chance, in four of five seeds. The find lesson (``find_batches``)
# teaches copying by content, which the call needs: after it the drills were learned in two of three seeds
# within 300 steps, and in this recipe by step 1,100. So the run starts with LEAD_IN, then the lessons take
# turns: TURNS in the first TURNS_PHASE steps after the lead-in, LATER_TURNS after them. Every step not
# spent on chat costs the sums: with 2,000 chat steps of 3,900, 56 of the held-out 100 were right; with
# 2,600 of 4,200, 87; with 2,770 of 4,200 (no find steps after TURNS_PHASE, as here), 95, while new cities
# were called right 47, 43 and 40 of 50 times (ONNX Runtime, one run each; issue 20's notes).
LEAD_IN = (("copy", 350), ("find", 300))
TURNS = ("chat", "find", "drill", "chat", "chat", "copy", "drill", "chat")
LATER_TURNS = ("chat",) * 9 + ("drill",) + ("chat",) * 5 + ("copy",)
TURNS_PHASE = 900
COPY_LENGTH = (3, 24)  # pieces in a string to copy
FIND_SPREAD = 16  # at most this many random pieces before and after the string in a find row
# Weather questions up to the call that name a random string (corpus.call_drills): copying in the task's
# own place, about 60 tokens each after the shared prefix; this many per conversation of the corpus.
DRILLS_PER_SAMPLE = 0.5


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


USER_TURN = "<|start|>user"


def split_prefix(text: str) -> tuple[str, str]:
    """The text before the first user turn (system and developer messages) and the rest.

    The prefix depends only on the date, the reasoning effort and whether the tool is declared; the
    rest never depends on the date. Special tokens end every text run, so the two tokenize apart to
    the same ids as together.
    """
    cut = text.index(USER_TURN)
    return text[:cut], text[cut:]


def encode(tok: Tokenizer, text: str) -> tuple[list[int], list[float]]:
    """Token ids and, per token, the weight of its loss: 0 outside the assistant's messages, 1 inside,
    ``CALL_WEIGHT`` in a tool call's arguments and ``DIGIT_WEIGHT`` on a digit."""
    enc = tok.encode(text)
    spans = [m.span() for m in ASSISTANT_SPAN.finditer(text)]
    calls = [m.span(1) for m in CALL_ARGUMENTS.finditer(text)]

    def weight(start: int, end: int) -> float:
        if any(s <= start < e for s, e in calls):
            return CALL_WEIGHT
        if not any(s <= start < e for s, e in spans):
            return 0.0
        return DIGIT_WEIGHT if text[start:end].strip().isdigit() else 1.0

    return enc.ids, [weight(start, end) for start, end in enc.offsets]


@dataclass(frozen=True)
class Sample:
    group: tuple[str, bool]  # (reasoning effort, tool declared): samples of a group share their prefix but the date
    prefix: list[int]
    ids: list[int]  # from the user turn on
    weights: list[float]  # of each token's loss (0: no loss)


def prepare(tok: Tokenizer, conversations: list[corpus.Conversation], texts: list[str]) -> list[Sample]:
    """The samples of ``conversations``, rendered as ``texts``."""
    out = []
    for conv, text in zip(conversations, texts, strict=True):
        prefix, rest = split_prefix(text)
        ids, weights = encode(tok, rest)
        out.append(Sample((conv.reasoning_effort, conv.tools is not None), tok.encode(prefix).ids, ids, weights))
    return out


def batches(samples: list[Sample], tokens_per_batch: int, rng: random.Random):
    """Endless batches ``(prefix [1, P], ids [batch, seq], weights [batch, seq])``, the weight of each
    token's loss as it is predicted (0 for padding and for what the model does not learn to say).

    A batch holds samples of one group, so they share one prefix: that of the batch's first sample, whose
    date then stands for all (the rest of a sample never depends on the date). Each group is shuffled,
    sorted by length within pools of a few hundred and cut at ``tokens_per_batch`` tokens after the
    prefix; the batches of all groups are shuffled again: little padding, a new order every epoch.
    """
    pool = 512
    groups: dict[tuple[str, bool], list[int]] = {}
    for j, s in enumerate(samples):
        groups.setdefault(s.group, []).append(j)
    while True:
        cut = []
        for members in groups.values():
            order = list(members)
            rng.shuffle(order)
            for p in range(0, len(order), pool):
                group = sorted(order[p:p + pool], key=lambda j: len(samples[j].ids))
                batch: list[int] = []
                for j in group:
                    if batch and (len(batch) + 1) * len(samples[j].ids) > tokens_per_batch:
                        cut.append(batch)
                        batch = []
                    batch.append(j)
                cut.append(batch)
        rng.shuffle(cut)
        for batch in cut:
            chunk = [samples[j] for j in batch]
            width = max(len(s.ids) for s in chunk)
            ids = torch.full((len(chunk), width), PAD_ID, dtype=torch.long)  # [batch, seq]
            weights = torch.zeros((len(chunk), width))  # [batch, seq]
            for r, s in enumerate(chunk):
                ids[r, :len(s.ids)] = torch.tensor(s.ids)
                weights[r, :len(s.ids)] = torch.tensor(s.weights)
            yield torch.tensor([chunk[0].prefix]), ids, weights  # prefix: [1, P]


def _piece_batches(tok: Tokenizer, tokens_per_batch: int, rng: random.Random, room: int,
                   row: Callable[[Callable[[int], list[int]], int], tuple[list[int], int]]):
    """Endless batches of rows made of random pieces (the learned vocabulary and the byte pieces), shaped as
    ``batches``' with a one-token prefix. ``row(pieces, newline)`` gives a row's ids and where its weighted
    tail starts (weight 1 from there to the row's end), ``pieces(n)`` being n random pieces; a batch takes
    rows while ``room`` more tokens fit."""
    first = len(tokenizer.special_tokens(shared_dir() / "llm-jp-4" / "tokenizer_config.json"))
    newline = tok.token_to_id("<0x0A>")

    def pieces(n: int) -> list[int]:
        return [rng.randrange(first, tok.get_vocab_size()) for _ in range(n)]

    while True:
        rows, size = [], 0
        while size + room <= tokens_per_batch:
            rows.append(row(pieces, newline))
            size += len(rows[-1][0])
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)  # [batch, seq]
        weights = torch.zeros((len(rows), width))  # [batch, seq]
        for r, (row_ids, start) in enumerate(rows):
            ids[r, :len(row_ids)] = torch.tensor(row_ids)
            weights[r, start:len(row_ids)] = 1.0
        yield torch.tensor([[1]]), ids, weights  # prefix: [1, 1], <|startoftext|>


def copy_batches(tok: Tokenizer, tokens_per_batch: int, rng: random.Random):
    """Endless batches of copying: each row a random string of pieces, a line break and the same string
    again, weighted 1 where the repeat and the line break after it are predicted. One string a row, at its
    start: packed several to a row, the model did not learn to copy in 900 steps (loss flat at chance); one
    to a row, it did within 500."""
    def row(pieces: Callable[[int], list[int]], newline: int) -> tuple[list[int], int]:
        string = pieces(rng.randint(*COPY_LENGTH))
        return string + [newline] + string + [newline], len(string) + 1

    return _piece_batches(tok, tokens_per_batch, rng, 2 * COPY_LENGTH[1] + 2, row)


def find_batches(tok: Tokenizer, tokens_per_batch: int, rng: random.Random):
    """Endless batches of copying by content: each row random pieces, a random string among them, more
    random pieces, a line break and the string again, weighted 1 on the repeat after its first piece and on
    the line break after it. Nothing marks where the string starts, and its place in the row varies: only
    finding the piece just written among the earlier ones and taking the piece after it predicts the
    repeat. Learned only after ``copy_batches``: rows of 128 random pieces with one string repeated stayed
    at chance for 450 steps from the first step; these rows, after 350 copy steps, were learned within 250."""
    def row(pieces: Callable[[int], list[int]], newline: int) -> tuple[list[int], int]:
        string = pieces(rng.randint(*COPY_LENGTH))
        head = pieces(rng.randint(0, FIND_SPREAD)) + string + pieces(rng.randint(0, FIND_SPREAD)) + [newline]
        return head + string + [newline], len(head) + 1

    return _piece_batches(tok, tokens_per_batch, rng, 2 * (COPY_LENGTH[1] + FIND_SPREAD) + 2, row)


def schedule(step: int, steps: int) -> str:
    """What step ``step`` (from 1) of a run of ``steps`` learns: the lessons of LEAD_IN in order, then TURNS
    for TURNS_PHASE steps, then LATER_TURNS. A run shorter than STEPS shortens each phase in proportion, so
    that it learns the corpus as well: 300 steps (the benchmarks' small MoE) are 25 copy and 21 find steps,
    64 by TURNS, then LATER_TURNS; with the phases at full length they would all be copy steps."""
    def scaled(length: int) -> int:
        return length * min(steps, STEPS) // STEPS

    for lesson, length in LEAD_IN:
        if step <= scaled(length):
            return lesson
        step -= scaled(length)
    if step <= scaled(TURNS_PHASE):
        return TURNS[step % len(TURNS)]
    return LATER_TURNS[step % len(LATER_TURNS)]


def batch_loss(model: PreTrainedModel, prefix: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean loss of the samples ``prefix + ids[r]``, with the shared prefix run once.

    Its keys and values are computed for one row and repeated for the batch; the gradient flows back
    through the repeat. The padding sits on the right, where the causal mask keeps it out of every
    real token's view, and its weights are 0. The output layer runs only where a weighted token follows
    (a fifth of the model's work is that layer, and about 40% of positions have no weight).
    """
    cache = model.base_model(input_ids=prefix, use_cache=True).past_key_values
    cache.batch_repeat_interleave(ids.shape[0])
    hidden = model.base_model(input_ids=ids, past_key_values=cache).last_hidden_state  # [batch, seq, hidden]
    taken = weights[:, 1:] > 0  # position t predicts token t + 1
    logits = model.lm_head(hidden[:, :-1][taken])  # [weighted positions, vocab]
    losses = torch.nn.functional.cross_entropy(logits.float(), ids[:, 1:][taken], reduction="none")
    w = weights[:, 1:][taken]
    return (losses * w).sum() / w.sum()


def fast_bf16_products() -> bool:
    """Whether autocast to bfloat16 speeds training up here: only where oneDNN computes bfloat16 products
    (AVX-512 and newer), 1.4x faster than float32 on such a machine. Elsewhere, as on an AVX2-only AMD EPYC,
    PyTorch falls back to a scalar bfloat16 matmul, 70x slower than float32 for the MLP's products (436
    against 6 ms for [2044, 704] x [704, 256]) and 22x for a whole step (13 against 0.58 s)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def float32_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """transformers' eager attention computed in float32, whatever autocast does around it.

    PyTorch's flash attention keeps scores and probabilities in float32 too, but on the CPU its backward is a
    third of a training step: this is 1.2x faster a step. transformers' own eager attention is as fast, but
    under bfloat16 autocast it rounds them to bfloat16 between the products, and both runs made with it were
    slow to learn copying a name into the call (the drills' loss 0.6 after 3,600 steps against the flash
    kernel's 0.08, one run each). The embedded model was trained with this (issue 20's notes).
    """
    with torch.autocast("cpu", enabled=False):
        groups = module.num_key_value_groups
        key = key.float().repeat_interleave(groups, dim=1)  # [batch, heads, seq, head_dim]
        value = value.float().repeat_interleave(groups, dim=1)
        scores = torch.matmul(query.float(), key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, value).transpose(1, 2).contiguous()  # [batch, seq, heads, head_dim]
    return out, probs


ATTENTION = "kotodama_float32"
AttentionInterface.register(ATTENTION, float32_attention)
AttentionMaskInterface.register(ATTENTION, eager_mask)


def demo_model(vocab_size: int) -> LlamaForCausalLM:
    config = model_config(vocab_size)
    config._attn_implementation = ATTENTION
    return LlamaForCausalLM(config)


def train(out: Path, *, steps: int, samples: int, tokens_per_batch: int, lr: float, force: bool,
          make_model: Callable[[int], PreTrainedModel] = demo_model) -> None:
    """Trains ``make_model(vocab_size)`` (the demo Llama unless a benchmark asks for another model)."""
    t0 = time.time()
    torch.manual_seed(SEED)
    random.seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    # Flush-to-zero is part of the recipe that trained the embedded model, so a rebuild needs it. It is not
    # a speed-up on this machine (AMD EPYC): denormal multiplies ran as fast without it, and steps still
    # slowed from about 0.45 s to 0.55 s over a run with it on.
    torch.set_flush_denormal(True)
    template = corpus.chat_template()
    conversations = corpus.generate(samples, seed=SEED)
    texts = [corpus.render(c, template) for c in conversations]
    drills = corpus.call_drills(int(samples * DRILLS_PER_SAMPLE), seed=SEED)
    with atomic_directory(out, force) as staging:
        tok_path = tokenizer.build(texts, staging)  # from the conversations alone: random names make no pieces
        tok = Tokenizer.from_file(str(tok_path))
        data = prepare(tok, conversations, texts)
        drill_data = prepare(tok, drills, [corpus.render(c, template) for c in drills])
        n_tok = sum(len(s.ids) for s in data)
        n_prefix = sum(len(s.prefix) for s in data)
        print(f"corpus: {len(texts)} conversations, {n_tok} tokens after the shared prefixes ({n_tok / len(texts):.0f}"
              f" per sample, prefixes {n_prefix / len(texts):.0f}), {len(drills)} call drills"
              f" ({sum(len(s.ids) for s in drill_data) / len(drills):.0f} tokens each), vocab"
              f" {tok.get_vocab_size()}, prepared in {time.time() - t0:.1f} s", flush=True)
        model = make_model(tok.get_vocab_size())
        with torch.no_grad():  # untied, but starting equal: copying a token from the prompt is learned far sooner
            model.lm_head.weight.copy_(model.model.embed_tokens.weight)
        params = sum(p.numel() for p in model.parameters())
        print(f"model: {params / 1e6:.2f}M parameters ({params * 4 / 2**20:.1f} MiB in fp32)", flush=True)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
        warmup = max(1, steps // 50)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))))
        bf16 = fast_bf16_products()
        print(f"products in {'bfloat16 (oneDNN), weights in float32' if bf16 else 'float32: this CPU has no fast bfloat16 matmul'}",
              flush=True)
        model.train()
        lessons = {"chat": batches(data, tokens_per_batch, random.Random(SEED)),
                   "copy": copy_batches(tok, tokens_per_batch, random.Random(SEED + 1)),
                   "drill": batches(drill_data, tokens_per_batch, random.Random(SEED + 2)),
                   "find": find_batches(tok, tokens_per_batch, random.Random(SEED + 3))}
        t_train, seen, windows = time.time(), 0, {lesson: [] for lesson in lessons}
        for step in range(1, steps + 1):
            lesson = schedule(step, steps)
            prefix, ids, weights = next(lessons[lesson])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = batch_loss(model, prefix, ids, weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            seen += ids.numel() + prefix.numel()
            windows[lesson].append(loss.item())
            if step % 25 == 0 or step == steps:
                dt = time.time() - t_train
                mean = lambda w: f"{sum(w) / len(w):.4f}" if w else "-"
                print(f"step {step}/{steps} loss {mean(windows['chat'])} copy loss {mean(windows['copy'])} find loss"
                      f" {mean(windows['find'])} drill loss {mean(windows['drill'])} lr {sched.get_last_lr()[0]:.2e}"
                      f" {seen / dt:.0f} tok/s {dt / step:.3f} s/step elapsed {dt:.0f} s", flush=True)
                windows = {lesson: [] for lesson in lessons}
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
