"""Train the demo model's small SentencePiece Unigram tokenizer and build its ``tokenizer.json``.

Ids 0-351 hold exactly the 352 special tokens of the LLM-jp-4 ``tokenizer_config.json`` (same strings,
same ids; control symbols, so plain text never becomes them), then the 22 pieces of ``USER_DEFINED``,
the 256 byte pieces, and the learned pieces; normalization as in LLM-jp-4: identity, no extra-whitespace
removal, split digits.
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
CHARACTER_COVERAGE = 0.998  # rarer characters stay byte pieces, which the model then learns to copy
MAX_LENGTH = 1024
# A number or an operator after a space is one piece (▁9, ▁-), so the digits and operators that the model
# copies out of a question are distinct from the bare digits and dashes of the date above it. Any other
# space is a piece of its own, and so are the particles that follow a name in Japanese: a name is then the
# same pieces in a question ("in Kyoto?", "京都の天気") and in a tool call's JSON ("Kyoto"), which the model
# copies it into.
USER_DEFINED = [f"\u2581{c}" for c in "0123456789+-×=→"] + ["\u2581"] + list("のはにでをが")


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
            character_coverage=CHARACTER_COVERAGE, byte_fallback=True, split_digits=True,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
            unk_id=0, unk_piece=specials[0], bos_id=-1, eos_id=-1, pad_id=-1,
            control_symbols=specials[1:], user_defined_symbols=USER_DEFINED, num_threads=1, seed_sentencepiece_size=100000,
            shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2,
        )
    return Path(f"{out_prefix}.model")


def write_tokenizer_config(out_dir: Path, *, source: Path | None = None) -> Path:
    """The demo's own ``tokenizer_config.json``: LLM-jp-4's special tokens at their ids and in their roles.

    Generated, not copied: it keeps the token table and the role names (bos, eos, pad, ...) of the
    LLM-jp-4 config and states what the demo tokenizer does (no BOS added, a 1024-token context).
    """
    config = json.loads((source or shared_dir() / "llm-jp-4" / "tokenizer_config.json").read_text(encoding="utf-8"))
    roles = {k: config[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token", "cls_token", "sep_token",
                                    "mask_token")}
    own = {"added_tokens_decoder": config["added_tokens_decoder"], **roles, "add_bos_token": False,
           "add_eos_token": False, "clean_up_tokenization_spaces": False, "model_max_length": MAX_LENGTH,
           "tokenizer_class": "PreTrainedTokenizerFast"}
    target = Path(out_dir) / "tokenizer_config.json"
    target.write_text(json.dumps(own, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target


def build(texts: list[str], out_dir: Path, *, vocab_size: int = VOCAB_SIZE) -> Path:
    """Train the tokenizer on ``texts``; write ``tokenizer.model``, ``tokenizer.json`` and ``tokenizer_config.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = train_sentencepiece(texts, out_dir / "tokenizer", vocab_size=vocab_size)
    return build_tokenizer_json(model, write_tokenizer_config(out_dir), out_dir)
