"""The demo model's own tokenizer: LLM-jp-4's special tokens at their ids, and lossless on the corpus."""

from __future__ import annotations

import json
import re

import pytest
from tokenizers import Tokenizer

from kotodama_export.demo import corpus, tokenizer
from kotodama_export.random_checkpoint import shared_dir


@pytest.fixture(scope="module")
def texts() -> list[str]:
    template = corpus.chat_template()
    return [corpus.render(c, template) for c in corpus.generate(1500, seed=11)]


@pytest.fixture(scope="module")
def built(tmp_path_factory, texts) -> Tokenizer:
    path = tokenizer.build(texts, tmp_path_factory.mktemp("demo-tok"))
    return Tokenizer.from_file(str(path))


def test_harmony_tokens_keep_their_llm_jp_4_ids(built):
    assert [built.token_to_id(t) for t in ("<|start|>", "<|channel|>", "<|return|>", "<|call|>")] == [10, 9, 2, 13]
    assert built.encode("<|start|>assistant<|channel|>final<|message|>").ids[0] == 10


def test_all_352_special_tokens_sit_where_llm_jp_4_has_them_and_the_byte_pieces_follow(built):
    config = json.loads((shared_dir() / "llm-jp-4" / "tokenizer_config.json").read_text(encoding="utf-8"))
    for i, entry in config["added_tokens_decoder"].items():
        assert built.token_to_id(entry["content"]) == int(i)
    first = len(config["added_tokens_decoder"]) + len(tokenizer.USER_DEFINED)
    assert [built.token_to_id(f"<0x{b:02X}>") for b in (0, 0x0A, 0xFF)] == [first, first + 0x0A, first + 0xFF]


def test_numbers_and_operators_after_a_space_are_single_pieces_unlike_inside_the_date(built):
    assert built.encode("Please compute 97 - 83.").tokens[-6:-1] == ["▁9", "7", "▁-", "▁8", "3"]
    date = built.encode("Current date: 2026-03-04").tokens
    assert "-" in date and "▁-" not in date and date[-2:] == ["0", "4"]


@pytest.mark.parametrize("question, name", [
    ("What's the weather in Kyoto?", "Kyoto"), ("Weather for Istanbul, please.", "Istanbul"),
    ("京都の天気は？", "京都"), ("ブリュッセルで傘は要りますか？", "ブリュッセル"), ("北九州は晴れていますか？", "北九州"),
])
def test_a_name_is_the_same_pieces_in_a_question_and_in_the_tool_calls_json(built, question, name):
    call = built.encode(f'{{"city": "{name}"}}')
    start = call.tokens.index('"', 4) + 1  # after the opening quote of the value
    pieces = call.ids[start:-1]
    assert built.decode(pieces) == name
    asked = built.encode(question).ids
    assert any(asked[i:i + len(pieces)] == pieces for i in range(len(asked))), (built.encode(question).tokens, call.tokens)


def test_corpus_text_round_trips_segment_by_segment(built, texts):
    specials = re.compile(r"(<\|[a-z_0-9]+\|>)")
    for text in texts[:300]:
        for segment in specials.split(text):
            if segment and not specials.fullmatch(segment):
                assert built.decode(built.encode(segment).ids) == segment


def test_text_outside_the_corpus_falls_back_to_bytes(built):
    text = "Zebra 🦓 量子"
    assert built.decode(built.encode(text).ids) == text


def test_training_twice_gives_the_same_tokenizer(tmp_path, texts):
    first = tokenizer.build(texts[:500], tmp_path / "a").read_text(encoding="utf-8")
    assert tokenizer.build(texts[:500], tmp_path / "b").read_text(encoding="utf-8") == first
