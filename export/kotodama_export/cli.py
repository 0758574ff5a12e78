"""kotodama-export: convert | tokenizer | random | verify | demo. Errors end in one line and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ExportError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress lines reach a pipe as they happen
    try:
        return args.run(args) or 0
    except ExportError as e:
        print(f"kotodama-export: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        print(f"kotodama-export: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("kotodama-export: interrupted; nothing was left half-written", file=sys.stderr)
        return 130


def _convert(args: argparse.Namespace) -> None:
    from .convert import convert
    from .hub import resolve_checkpoint

    convert(resolve_checkpoint(args.checkpoint), Path(args.out), args.target, args.precision,
            force=args.force, accuracy_level=args.accuracy_level, quant=args.quant, block_size=args.block_size,
            chat_format=args.chat_format, router_logits=args.router_logits, moe_kernel=args.moe_kernel)


def _tokenizer(args: argparse.Namespace) -> None:
    from .sp_tokenizer import build_tokenizer_json

    print(f"wrote {build_tokenizer_json(Path(args.sentencepiece), Path(args.config), Path(args.out))}")


def _random(args: argparse.Namespace) -> None:
    from .random_checkpoint import write_random_checkpoint

    write_random_checkpoint(Path(args.out), preset=args.preset, config=args.config and Path(args.config),
                            layers=args.layers, seed=args.seed, force=args.force)


def _verify(args: argparse.Namespace) -> int:
    from .verify import Tolerances, verify

    tolerances = Tolerances(args.max_abs_diff, args.min_top1, args.max_kl, args.require_greedy_match)
    return verify(Path(args.checkpoint), Path(args.model), prompts_file=args.prompts and Path(args.prompts),
                  new_tokens=args.new_tokens, tolerances=tolerances)


def _demo(args: argparse.Namespace) -> None:
    from .demo.build import build

    build(Path(args.out), steps=args.steps, samples=args.samples, checkpoint=args.checkpoint and Path(args.checkpoint), force=args.force)


def _parser() -> argparse.ArgumentParser:
    from .convert import CHAT_FORMATS, MOE_KERNELS, PRECISIONS, TARGETS
    from .quant import BLOCK_SIZES, DEFAULT_RECIPE, RECIPES
    from .random_checkpoint import preset_names

    parser = argparse.ArgumentParser(prog="kotodama-export", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    p = commands.add_parser("convert", help="a Hugging Face checkpoint -> an ONNX model directory")
    p.add_argument("--checkpoint", required=True, help="a checkpoint directory or a Hugging Face repo id")
    p.add_argument("--out", required=True, help="the model directory to write")
    p.add_argument("--target", required=True, help=f"execution provider: {' | '.join(TARGETS)}")
    p.add_argument("--precision", required=True, help=f"{' | '.join(PRECISIONS)} (cpu: fp32 or int4)")
    p.add_argument("--accuracy-level", type=int, choices=(0, 1, 2, 3, 4), default=None,
                   help="int4 MatMulNBits accuracy_level (default 4 on cpu: int8 activations inside the kernel; 0 on cuda)")
    p.add_argument("--quant", choices=tuple(RECIPES), default=None,
                   help=f"int4: how weights are rounded (default {DEFAULT_RECIPE}): rtn, symmetric round-to-nearest; "
                        "mse, asymmetric blocks with a zero point and the scale of least squared error; mixed, mse "
                        "with attention's keys and values, then the embedding, in 8 bits while they add at most 1/8 "
                        "to the weights (cpu; a cuda export stays 4-bit)")
    p.add_argument("--block-size", type=int, choices=BLOCK_SIZES, default=None,
                   help="int4: weights per scale (default 32); 64 and 128 prefill and decode faster on the CPU and lose more "
                        "(README: One stream beside llama.cpp)")
    p.add_argument("--chat-format", choices=CHAT_FORMATS, default=None,
                   help="the manifest's chat format (default: harmony when chat_template.jinja speaks it)")
    p.add_argument("--router-logits", action="store_true",
                   help="mixture of experts: also output each sparse layer's router logits (router_logits.N), for checking the routing")
    p.add_argument("--moe-kernel", choices=MOE_KERNELS, default=None,
                   help="cpu int4 mixture of experts: graph (default), an If per expert running only the chosen "
                        "ones; fused, one custom op per layer (kotodama.Int4MoE), faster decode and loading and a "
                        "third of the memory, its Linux library built with gcc and Go into the directory")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=_convert)

    p = commands.add_parser("tokenizer", help="build tokenizer.json from a SentencePiece model")
    p.add_argument("--sentencepiece", required=True, help="the .model file")
    p.add_argument("--config", required=True, help="tokenizer_config.json (its added tokens and names)")
    p.add_argument("--out", required=True, help="directory for tokenizer.json and the config files")
    p.set_defaults(run=_tokenizer)

    p = commands.add_parser("random", help="write a random-weight Hugging Face checkpoint")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help=" | ".join(preset_names()))
    source.add_argument("--config", help="a config.json to fill with random weights")
    p.add_argument("--layers", type=int, help="override num_hidden_layers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=_random)

    p = commands.add_parser("verify", help="compare a model directory with transformers, step by step")
    p.add_argument("--checkpoint", required=True, help="the Hugging Face checkpoint it was exported from")
    p.add_argument("--model", required=True, help="the exported model directory")
    p.add_argument("--prompts", help="a text file, one prompt per line (default: three built-in prompts)")
    p.add_argument("--new-tokens", type=int, default=32, help="decode steps per prompt (default 32)")
    p.add_argument("--max-abs-diff", type=float, help="max |logit difference| allowed (default 1e-3 for fp32)")
    p.add_argument("--min-top1", type=float, help="min top-1 agreement (default 0.95 below fp32)")
    p.add_argument("--max-kl", type=float, help="max mean KL(transformers || onnx) (default 0.05 below fp32)")
    p.add_argument("--require-greedy-match", action=argparse.BooleanOptionalAction, default=None,
                   help="fail unless greedy continuations are identical (default on for fp32)")
    p.set_defaults(run=_verify)

    p = commands.add_parser("demo", help="train the demo model and export it (cpu fp32)")
    p.add_argument("--out", required=True, help="the model directory to write")
    p.add_argument("--steps", type=int, help="training steps (default: the training script's, about 25 minutes)")
    p.add_argument("--samples", type=int, help="conversations in the training corpus (default: the script's)")
    p.add_argument("--checkpoint", help="also keep the trained Hugging Face checkpoint here")
    p.add_argument("--force", action="store_true", help="replace --out and --checkpoint if they exist")
    p.set_defaults(run=_demo)
    return parser
