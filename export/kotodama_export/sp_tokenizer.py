"""Build a Hugging Face ``tokenizer.json`` for LLM-jp-4 from its SentencePiece ``.model``.

The pipeline is the one of the released LLM-jp-4 tokenizer (see FACTS.md, "Tokenizer"):
normalizer Sequence[Replace regex ``(?<!\\n)^`` -> ``▁``, Replace ``" "`` -> ``▁``], no pre-tokenizer,
Unigram (unk id 0, byte fallback) with the pieces and scores of the ``.model``, decoder
Sequence[ByteFallback, Replace ``▁`` -> ``" "``, Fuse, Strip(left 1)], no post-processor (no BOS).
Every entry of ``added_tokens_decoder`` in ``tokenizer_config.json`` becomes an added token with its
flags, and its name replaces the ``.model``'s old name for that id (ids 0-13 are renamed).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

from google.protobuf.message import DecodeError
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers

from .errors import ExportError

SPACE_MARK = "\u2581"
FILES_BESIDE_CONFIG = ("special_tokens_map.json", "chat_template.jinja")
_ModelProto = sp_pb2.ModelProto


class TokenizerSourceError(ExportError, ValueError):
    """A SentencePiece model or tokenizer config that cannot be turned into ``tokenizer.json``."""


def build_tokenizer_json(sentencepiece_model: Path, tokenizer_config: Path, out_dir: Path) -> Path:
    """Write ``tokenizer.json`` and copies of the config files into ``out_dir``; return its path.

    Raises ``TokenizerSourceError`` (a ``ValueError``) naming the file to fix. Every file is written
    under a temporary name and renamed into place, so an interruption leaves no partial file.
    """
    proto = _read_model(Path(sentencepiece_model))
    added = _read_added_tokens(Path(tokenizer_config), proto)
    tokenizer = _make_tokenizer(proto, added)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "tokenizer.json"
    _write_atomically(target, lambda tmp: tokenizer.save(str(tmp)))
    config = Path(tokenizer_config)
    copies = {"tokenizer_config.json": config, **{name: config.with_name(name) for name in FILES_BESIDE_CONFIG}}
    for name, source in copies.items():
        if source.is_file():
            _write_atomically(out_dir / name, partial(shutil.copyfile, source))
    return target


def _read_model(path: Path) -> _ModelProto:
    if not path.is_file():
        raise TokenizerSourceError(f"The SentencePiece model {path} does not exist; pass the LLM-jp-4 .model file.")
    try:
        proto = _ModelProto.FromString(path.read_bytes())
    except (OSError, DecodeError) as e:
        raise TokenizerSourceError(
            f"Cannot read {path} as a SentencePiece model ({e}); pass the LLM-jp-4 .model file."
        ) from e
    trainer, norm = proto.trainer_spec, proto.normalizer_spec
    if not proto.pieces:
        raise TokenizerSourceError(f"{path} holds no SentencePiece pieces; pass the LLM-jp-4 .model file.")
    if (
        trainer.model_type != sp_pb2.TrainerSpec.UNIGRAM
        or not trainer.byte_fallback
        or norm.precompiled_charsmap
        or norm.remove_extra_whitespaces
        or not norm.add_dummy_prefix
    ):
        raise TokenizerSourceError(
            f"{path} is not a Unigram model with byte fallback, identity normalization and a dummy"
            " prefix, the only kind this builder reproduces; pass the LLM-jp-4 .model file."
        )
    return proto


def _read_added_tokens(path: Path, proto: _ModelProto) -> dict[int, dict]:
    """Return ``added_tokens_decoder`` of the config by id, checked against the model's pieces."""
    if not path.is_file():
        raise TokenizerSourceError(
            f"The tokenizer config {path} does not exist; pass the tokenizer_config.json of the LLM-jp-4 tokenizer."
        )
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["added_tokens_decoder"]
        added = {int(i): entry for i, entry in entries.items()}
        if not all(isinstance(entry.get("content"), str) for entry in added.values()):
            raise ValueError("an entry has no string 'content'")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise TokenizerSourceError(
            f"Cannot read added_tokens_decoder from the tokenizer config {path} ({e});"
            " pass the tokenizer_config.json of the LLM-jp-4 tokenizer."
        ) from e
    size = len(proto.pieces)
    for i, entry in sorted(added.items()):
        if not 0 <= i < size:
            raise TokenizerSourceError(
                f"The tokenizer config {path} declares added token {entry.get('content')!r} with id {i},"
                f" outside the SentencePiece model's {size} pieces; use the config that belongs to this model."
            )
        if proto.pieces[i].type in (sp_pb2.ModelProto.SentencePiece.NORMAL, sp_pb2.ModelProto.SentencePiece.BYTE):
            raise TokenizerSourceError(
                f"The tokenizer config {path} names id {i} {entry.get('content')!r}, but the model's piece"
                f" there is the ordinary piece {proto.pieces[i].piece!r}; use the config that belongs to this model."
            )
    return added


def _make_tokenizer(proto: _ModelProto, added: dict[int, dict]) -> Tokenizer:
    vocab = [(added[i]["content"] if i in added else p.piece, p.score) for i, p in enumerate(proto.pieces)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=proto.trainer_spec.unk_id, byte_fallback=True))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(r"(?<!\n)^"), SPACE_MARK), normalizers.Replace(" ", SPACE_MARK)]
    )
    tokenizer.decoder = decoders.Sequence(
        [decoders.ByteFallback(), decoders.Replace(SPACE_MARK, " "), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    flags = ("single_word", "lstrip", "rstrip", "normalized", "special")
    tokenizer.add_special_tokens(
        [AddedToken(e["content"], **{f: e[f] for f in flags if f in e}) for _, e in sorted(added.items())]
    )
    for i, entry in added.items():
        if tokenizer.token_to_id(entry["content"]) != i:
            raise TokenizerSourceError(
                f"The added token {entry['content']!r} (id {i}) is also the name of another piece of the"
                " SentencePiece model; use the tokenizer_config.json that belongs to this model."
            )
    return tokenizer


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Write ``target`` through ``write(tmp)`` on a temporary name, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
