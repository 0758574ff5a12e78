"""Train the demo model's small SentencePiece Unigram tokenizer and build its ``tokenizer.json``.

Ids 0-351 hold exactly the 352 special tokens of the LLM-jp-4 ``tokenizer_config.json`` (same strings,
same ids; control symbols, so plain text never becomes them), ids 352-607 the byte pieces, then the
learned pieces; normalization as in LLM-jp-4: identity, no extra-whitespace removal, split digits.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path

import sentencepiece as spm

from ..random_checkpoint import shared_dir
from ..sp_tokenizer import build_tokenizer_json

VOCAB_SIZE = 3000


def special_tokens(tokenizer_config: Path) -> list[str]:
    """The 352 special tokens of the config, in id order 0..351."""
    added = json.loads(tokenizer_config.read_text(encoding="utf-8"))["added_tokens_decoder"]
    tokens = {int(i): e["content"] for i, e in added.items()}
    if sorted(tokens) != list(range(len(tokens))):
        raise ValueError(f"{tokenizer_config}: added token ids are not 0..{len(tokens) - 1}")
    return [tokens[i] for i in range(len(tokens))]


def train_sentencepiece(texts: list[str], out_prefix: Path, *, vocab_size: int = VOCAB_SIZE,
                        tokenizer_config: Path | None = None, mix_words: bool = True) -> Path:
    """Train on ``texts`` (special tokens are cut out first); return the path of the ``.model``.

    SentencePiece seeds Unigram pieces only from substrings found in two or more *distinct* sentences,
    so a line that is always the same (the system prompt) would stay in single characters. With
    ``mix_words`` the words of all lines are also shuffled (fixed seed) into six-word sentences, so
    that every frequent word is seen in many contexts (about 20% fewer tokens per sample).
    """
    config = tokenizer_config or shared_dir() / "llm-jp-4" / "tokenizer_config.json"
    specials = special_tokens(config)
    splitter = re.compile("|".join(re.escape(s) for s in specials))
    lines = [seg for text in texts for part in splitter.split(text) for seg in part.split("\n") if seg]
    if mix_words:
        words = [w for line in lines for w in line.split(" ") if w]
        random.Random(0).shuffle(words)
        lines += [" ".join(words[i:i + 6]) for i in range(0, len(words), 6)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "corpus.txt"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(data), model_prefix=str(out_prefix), model_type="unigram", vocab_size=vocab_size,
            character_coverage=1.0, byte_fallback=True, split_digits=True,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
            unk_id=0, unk_piece=specials[0], bos_id=-1, eos_id=-1, pad_id=-1,
            control_symbols=specials[1:], num_threads=1, seed_sentencepiece_size=100000,
            shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2,
        )
    return Path(f"{out_prefix}.model")


def build(texts: list[str], out_dir: Path, *, vocab_size: int = VOCAB_SIZE) -> Path:
    """Train the tokenizer on ``texts`` and write ``tokenizer.model`` and ``tokenizer.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = train_sentencepiece(texts, out_dir / "tokenizer", vocab_size=vocab_size)
    return build_tokenizer_json(model, shared_dir() / "llm-jp-4" / "tokenizer_config.json", out_dir)
