"""The demo's training batches: one shared prefix per batch, computing exactly the loss of whole samples,
weighted where the assistant speaks."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
import torch
from tokenizers import Tokenizer

from kotodama_export.demo import corpus, tokenizer, train
from kotodama_export.demo.sample import decode


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    template = corpus.chat_template()
    conversations = corpus.generate(400, seed=7)
    texts = [corpus.render(c, template) for c in conversations]
    tok = Tokenizer.from_file(str(tokenizer.build(texts, tmp_path_factory.mktemp("demo-train-tok"))))
    return tok, texts, train.prepare(tok, conversations, texts)


def test_prefix_and_rest_tokenize_to_the_ids_of_the_whole_sample(prepared):
    tok, texts, samples = prepared
    for text, sample in zip(texts, samples):
        assert sample.prefix + sample.ids == tok.encode(text).ids
        user_turn = tok.encode(train.USER_TURN).ids
        assert sample.ids[:len(user_turn)] == user_turn


def test_samples_of_one_group_have_one_prefix_but_the_date(prepared):
    tok, _, samples = prepared
    prefixes: dict[tuple, set[str]] = {}
    for s in samples:
        prefixes.setdefault(s.group, set()).add(_without_date(tok.decode(s.prefix, skip_special_tokens=False)))
    assert len(prefixes) == 6  # three efforts, with and without the tool
    assert all(len(texts) == 1 for texts in prefixes.values())


def test_the_shared_prefix_gives_the_loss_and_gradients_of_whole_samples(prepared):
    tok, _, samples = prepared
    torch.manual_seed(0)
    model = train.demo_model(tok.get_vocab_size())
    prefix, ids, weights = next(b for b in train.batches(samples, 2048, random.Random(1))
                                if b[1].shape[0] > 4 and Counter(b[1][:, -1].tolist())[train.PAD_ID] > 0)  # several rows, some padded

    shared = train.batch_loss(model, prefix, ids, weights)
    shared.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    rows = ids.shape[0]
    logits = model(input_ids=torch.cat([prefix.expand(rows, -1), ids], 1)).logits[:, prefix.shape[1]:-1]
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    whole = (losses * weights[:, 1:]).sum() / weights[:, 1:].sum()
    whole.backward()

    assert shared.item() == pytest.approx(whole.item(), abs=1e-5)
    for shared_grad, p in zip(grads, model.parameters()):
        assert torch.allclose(shared_grad, p.grad, atol=1e-6)


def test_the_loss_is_taken_on_the_assistant_with_call_arguments_and_digits_weighted(prepared):
    tok, _, samples = prepared
    call = next(s for s in samples if train.CALL_WEIGHT in s.weights)
    by_weight = {w: decode(tok, [i for i, x in zip(call.ids, call.weights) if x == w]) for w in set(call.weights)}
    assert set(by_weight) == {0.0, 1.0, train.DIGIT_WEIGHT, train.CALL_WEIGHT}
    assert re.fullmatch(r'\{"city": "[^"]+"\}<\|call\|>', by_weight[train.CALL_WEIGHT]), by_weight
    assert by_weight[0.0].startswith("<|start|>user<|message|>")
    assert "<|start|>functions.get_weather to=assistant" in by_weight[0.0]  # the tool's result is read, not said
    assert "<|channel|>final<|message|>" in by_weight[1.0] and by_weight[1.0].endswith("<|return|>")
    assert re.fullmatch(r"[\d ]+", by_weight[train.DIGIT_WEIGHT])  # the temperature, in the reasoning and the answer


def _without_date(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("Current date:"))


def test_the_model_attends_as_transformers_sdpa_does_and_in_float32_under_bfloat16_autocast():
    torch.manual_seed(0)
    model = train.demo_model(500).eval()
    assert model.config._attn_implementation == train.ATTENTION
    reference = train.demo_model(500).eval()
    reference.load_state_dict(model.state_dict())
    reference.config._attn_implementation = "sdpa"
    ids = torch.randint(0, 500, (3, 40))
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, reference(ids).logits, atol=1e-5)

    attention = model.model.layers[0].self_attn
    q, k, v = (torch.randn(2, n, 12, 32).bfloat16() for n in (8, 2, 2))  # [batch, heads, seq, head_dim]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = train.float32_attention(attention, q, k, v, None, 32 ** -0.5)
    expected = torch.softmax(q.float() @ k.float().repeat_interleave(4, 1).transpose(2, 3) * 32 ** -0.5, -1)
    expected = (expected @ v.float().repeat_interleave(4, 1)).transpose(1, 2)
    assert out.dtype == torch.float32 and torch.allclose(out, expected, atol=1e-6)


def test_a_find_row_repeats_a_string_from_an_unmarked_place_and_is_weighted_only_on_the_repeat(prepared):
    tok = prepared[0]
    newline = tok.token_to_id("<0x0A>")
    prefix, ids, weights = next(train.find_batches(tok, train.TOKENS_PER_BATCH, random.Random(3)))
    assert prefix.tolist() == [[1]]
    places = Counter()
    for row, w in zip(ids.tolist(), weights.tolist()):
        end = max(i for i, x in enumerate(w) if x > 0) + 1
        start = min(i for i, x in enumerate(w) if x > 0)
        weighted, row = row[start:end], row[:end]
        assert all(x == 1.0 for x in w[start:end]) and weighted[-1] == newline and row[start - 2] == newline
        string = row[start - 1:end - 1]  # the repeat, its first piece (unweighted) included
        assert train.COPY_LENGTH[0] <= len(string) <= train.COPY_LENGTH[1]
        head = row[:start - 2]
        at = next(i for i in range(len(head)) if head[i:i + len(string)] == string)
        assert len(head) - at - len(string) <= train.FIND_SPREAD and at <= train.FIND_SPREAD
        places[at] += 1
    assert len(ids) > 20 and len(places) > 8  # the string starts at many places, not after a marker


def test_the_recipe_leads_in_with_copying_and_a_short_run_learns_the_corpus_too():
    full = Counter(train.schedule(step, train.STEPS) for step in range(1, train.STEPS + 1))
    assert [train.schedule(step, train.STEPS) for step in (1, 350, 351, 650, 651)] == \
        ["copy", "copy", "find", "find", train.TURNS[1]]
    assert full == {"chat": 2769, "copy": 627, "find": 413, "drill": 391}  # the embedded model's run
    short = Counter(train.schedule(step, 300) for step in range(1, 301))  # the benchmarks' small MoE
    assert train.schedule(1, 300) == "copy" and short["chat"] >= 190 and set(short) == set(full)
