"""The demo's training batches: one shared prefix per batch, computing exactly the loss of whole samples."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch
from tokenizers import Tokenizer

from kotodama_export.demo import corpus, tokenizer, train


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
        assert sample.ids[:2] == tok.encode(train.USER_TURN).ids


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
    prefix, ids, labels = next(train.batches(samples, 2048, random.Random(1)))
    assert ids.shape[0] > 4 and Counter(ids[:, -1].tolist())[train.PAD_ID] > 0  # several rows, some padded

    shared = train.batch_loss(model, prefix, ids, labels)
    shared.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    rows = ids.shape[0]
    whole = model(input_ids=torch.cat([prefix.expand(rows, -1), ids], 1),
                  labels=torch.cat([torch.full((rows, prefix.shape[1]), -100), labels], 1)).loss
    whole.backward()

    assert shared.item() == pytest.approx(whole.item(), abs=1e-5)
    for shared_grad, p in zip(grads, model.parameters()):
        assert torch.allclose(shared_grad, p.grad, atol=1e-6)


def _without_date(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("Current date:"))
