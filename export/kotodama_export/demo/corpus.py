"""A deterministic synthetic Harmony corpus for the demo model, with a held-out split.

Each conversation is in transformers' chat format: ``messages`` (user; assistant with ``thinking`` and
``content``; assistant ``tool_calls``; ``tool`` results), optional ``tools``, a ``reasoning_effort``
and a ``date``. ``render`` turns one into training text with the LLM-jp-4 chat template, read at run
time from the shared folder (never copied into the repository).

The held-out split cannot overlap training: arithmetic operand pairs and weather cities are
partitioned once by a fixed seed, and each split draws only from its own part.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from transformers.utils.chat_template_utils import render_jinja_template

from ..random_checkpoint import shared_dir

EFFORTS = ("low", "medium", "high")
LANGUAGES = ("en", "ja")
OPERATORS = ("+", "-", "*")
PARTITION_SEED = 20261126  # fixes which operand pairs and cities are held out; never change it

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name, e.g. Tokyo"}},
            "required": ["city"],
        },
    },
}

# (English, Japanese)
CITIES = [
    ("Tokyo", "東京"), ("Osaka", "大阪"), ("Kyoto", "京都"), ("Sapporo", "札幌"), ("Fukuoka", "福岡"),
    ("Nagoya", "名古屋"), ("Sendai", "仙台"), ("Hiroshima", "広島"), ("Kobe", "神戸"), ("Yokohama", "横浜"),
    ("Naha", "那覇"), ("Kanazawa", "金沢"), ("Nagasaki", "長崎"), ("Niigata", "新潟"), ("Okayama", "岡山"),
    ("Kumamoto", "熊本"), ("Matsuyama", "松山"), ("Shizuoka", "静岡"), ("Nara", "奈良"), ("Hakodate", "函館"),
    ("Paris", "パリ"), ("London", "ロンドン"), ("Berlin", "ベルリン"), ("Rome", "ローマ"), ("Madrid", "マドリード"),
    ("Seoul", "ソウル"), ("Beijing", "北京"), ("Bangkok", "バンコク"), ("Sydney", "シドニー"), ("Cairo", "カイロ"),
    ("Toronto", "トロント"), ("Chicago", "シカゴ"), ("Boston", "ボストン"), ("Vienna", "ウィーン"), ("Prague", "プラハ"),
    ("Dublin", "ダブリン"), ("Oslo", "オスロ"), ("Lisbon", "リスボン"), ("Athens", "アテネ"), ("Hanoi", "ハノイ"),
]
CONDITIONS = [("sunny", "晴れ"), ("cloudy", "曇り"), ("rainy", "雨"), ("snowy", "雪"), ("windy", "強風")]

UNITS = [  # (from en, to en, from ja, to ja, factor)
    ("km", "m", "キロメートル", "メートル", 1000), ("m", "cm", "メートル", "センチメートル", 100),
    ("kg", "g", "キログラム", "グラム", 1000), ("hours", "minutes", "時間", "分", 60),
    ("minutes", "seconds", "分", "秒", 60), ("L", "mL", "リットル", "ミリリットル", 1000),
]

GREETINGS = {
    "en": [("Hello!", "Hello! How can I help you today?"), ("Hi there.", "Hi! What can I do for you?"),
           ("Good morning!", "Good morning! How can I help?"), ("Thank you!", "You're welcome!"),
           ("Who are you?", "I am a small demo model of Kotodama. I can do simple arithmetic and unit conversions."),
           ("Goodbye.", "Goodbye! Have a nice day.")],
    "ja": [("こんにちは", "こんにちは！何かお手伝いできることはありますか？"), ("おはようございます", "おはようございます！ご用件は何でしょうか？"),
           ("ありがとう", "どういたしまして！"), ("あなたは誰ですか？", "私はKotodamaの小さなデモモデルです。簡単な計算や単位の変換ができます。"),
           ("こんばんは", "こんばんは！何をお手伝いしましょうか？"), ("さようなら", "さようなら！良い一日を。")],
}
FACTS = {
    "en": [("What is the capital of Japan?", "The capital of Japan is Tokyo."),
           ("What is the highest mountain in Japan?", "The highest mountain in Japan is Mount Fuji."),
           ("How many days are in a week?", "There are 7 days in a week."),
           ("What color is the sky on a clear day?", "The sky is blue on a clear day."),
           ("How many minutes are in an hour?", "There are 60 minutes in an hour."),
           ("What is the largest ocean?", "The largest ocean is the Pacific Ocean.")],
    "ja": [("日本の首都はどこですか？", "日本の首都は東京です。"), ("日本で一番高い山は何ですか？", "日本で一番高い山は富士山です。"),
           ("一週間は何日ですか？", "一週間は7日です。"), ("晴れた日の空は何色ですか？", "晴れた日の空は青色です。"),
           ("一時間は何分ですか？", "一時間は60分です。"), ("一番大きな海は何ですか？", "一番大きな海は太平洋です。")],
}


@dataclass(frozen=True)
class Conversation:
    kind: str  # arithmetic | unit | greeting | fact | weather
    language: str
    reasoning_effort: str
    date: str
    messages: list[dict]
    tools: list[dict] | None = None
    answer: str = ""  # the expected number (arithmetic, unit) or tool argument (weather)
    extra: dict = field(default_factory=dict)


def _partition() -> tuple[set, set, list, list]:
    """Return (train pairs, held-out pairs, train cities, held-out cities), fixed by PARTITION_SEED."""
    rng = random.Random(PARTITION_SEED)
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    rng.shuffle(pairs)
    held = len(pairs) // 10
    cities = list(CITIES)
    rng.shuffle(cities)
    return set(pairs[held:]), set(pairs[:held]), cities[8:], cities[:8]


TRAIN_PAIRS, HELD_OUT_PAIRS, TRAIN_CITIES, HELD_OUT_CITIES = _partition()


def generate(count: int, *, seed: int, split: str = "train") -> list[Conversation]:
    """``count`` conversations for ``split`` ("train" or "held_out"), the same for the same seed."""
    if split not in ("train", "held_out"):
        raise ValueError(f"split must be 'train' or 'held_out', not {split!r}")
    rng = random.Random(f"{seed}/{split}")
    pairs = sorted(TRAIN_PAIRS if split == "train" else HELD_OUT_PAIRS)
    cities = TRAIN_CITIES if split == "train" else HELD_OUT_CITIES
    kinds = ["arithmetic"] * 40 + ["unit"] * 15 + ["greeting"] * 8 + ["fact"] * 7 + ["weather"] * 20 + ["tool_unused"] * 10
    out = []
    for i in range(count):
        language = LANGUAGES[i % 2]
        effort = EFFORTS[(i // 2) % 3]
        kind = rng.choice(kinds)
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if kind == "arithmetic" or kind == "tool_unused":
            conv = arithmetic(rng.choice(pairs), rng.choice(OPERATORS), language, effort, rng)
            if kind == "tool_unused":
                conv = Conversation(**{**conv.__dict__, "tools": [WEATHER_TOOL]})
        elif kind == "unit":
            conv = unit(rng.choice(UNITS), rng.randint(1, 99), language, effort, rng)
        elif kind == "greeting" or kind == "fact":
            conv = canned((GREETINGS if kind == "greeting" else FACTS)[language], kind, language, effort, rng)
        else:
            conv = weather(rng.choice(cities), rng.choice(CONDITIONS), rng.randint(-5, 35), language, effort, rng)
        out.append(Conversation(**{**conv.__dict__, "date": date}))
    return out


def _assistant(thinking: str, content: str) -> dict:
    return {"role": "assistant", "thinking": thinking, "content": content}


def _compute(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def _steps(a: int, op: str, b: int, language: str) -> list[str]:
    """Worked reasoning: split the operands into tens and ones."""
    at, ao, bt, bo = a // 10 * 10, a % 10, b // 10 * 10, b % 10
    r = _compute(a, op, b)
    if op == "+":
        steps = [f"{at} + {bt} = {at + bt}", f"{ao} + {bo} = {ao + bo}", f"{at + bt} + {ao + bo} = {r}"]
    elif op == "-":
        steps = [f"{a} - {bt} = {a - bt}", f"{a - bt} - {bo} = {r}"]
    else:
        steps = [f"{a} * {bt} = {a * bt}", f"{a} * {bo} = {a * bo}", f"{a * bt} + {a * bo} = {r}"]
    return steps


def arithmetic(pair: tuple[int, int], op: str, language: str, effort: str, rng: random.Random) -> Conversation:
    a, b = pair
    r = _compute(a, op, b)
    sym = {"+": "+", "-": "-", "*": "×"}[op]
    if language == "en":
        question = rng.choice([f"What is {a} {sym} {b}?", f"Calculate {a} {sym} {b}.", f"{a} {sym} {b} = ?"])
        head = f"The user asks for {a} {sym} {b}."
        steps = _steps(a, op, b, language)
        check = f" Check: {r} {'-' if op == '+' else '+' if op == '-' else '/'} {b} = {a}. Correct."
        final = f"{a} {sym} {b} = {r}."
    else:
        question = rng.choice([f"{a} {sym} {b} はいくつですか？", f"{a} {sym} {b} を計算してください。", f"{a} {sym} {b} = ?"])
        head = f"{a} {sym} {b} を計算します。"
        steps = _steps(a, op, b, language)
        check = f" 確認: {r} {'-' if op == '+' else '+' if op == '-' else '/'} {b} = {a}。正しいです。"
        final = f"{a} {sym} {b} = {r} です。"
    if effort == "low":
        thinking = f"{head} {a} {sym} {b} = {r}."
    else:
        thinking = head + " " + ". ".join(steps) + "."
        if effort == "high":
            thinking += check
    return Conversation("arithmetic", language, effort, "", [{"role": "user", "content": question},
                                                            _assistant(thinking, final)], answer=str(r))


def unit(spec: tuple, value: int, language: str, effort: str, rng: random.Random) -> Conversation:
    fe, te, fj, tj, factor = spec
    r = value * factor
    if language == "en":
        question = rng.choice([f"How many {te} are in {value} {fe}?", f"Convert {value} {fe} to {te}."])
        thinking = f"1 {fe} is {factor} {te}."
        if effort != "low":
            thinking += f" So {value} {fe} is {value} * {factor} = {r} {te}."
        if effort == "high":
            thinking += f" Check: {r} / {factor} = {value}."
        final = f"{value} {fe} is {r} {te}."
    else:
        question = rng.choice([f"{value}{fj}は何{tj}ですか？", f"{value}{fj}を{tj}に変換してください。"])
        thinking = f"1{fj}は{factor}{tj}です。"
        if effort != "low":
            thinking += f"したがって {value} * {factor} = {r} です。"
        if effort == "high":
            thinking += f"確認: {r} / {factor} = {value}。"
        final = f"{value}{fj}は{r}{tj}です。"
    return Conversation("unit", language, effort, "", [{"role": "user", "content": question},
                                                      _assistant(thinking, final)], answer=str(r))


def canned(pool: list, kind: str, language: str, effort: str, rng: random.Random) -> Conversation:
    question, answer = rng.choice(pool)
    if language == "en":
        thinking = "The user greets me. I reply politely." if kind == "greeting" else "This is a simple fact."
        if effort == "high":
            thinking += " A short answer is enough."
    else:
        thinking = "ユーザーが挨拶しています。丁寧に返します。" if kind == "greeting" else "これは簡単な事実です。"
        if effort == "high":
            thinking += "短く答えれば十分です。"
    return Conversation(kind, language, effort, "", [{"role": "user", "content": question},
                                                    _assistant(thinking, answer)])


def weather(city: tuple, condition: tuple, temp: int, language: str, effort: str, rng: random.Random) -> Conversation:
    en, ja = city
    name = en if language == "en" else ja
    result = json.dumps({"city": name, "condition": condition[0], "temperature_c": temp}, ensure_ascii=False)
    if language == "en":
        question = rng.choice([f"What's the weather in {en}?", f"How is the weather in {en} today?",
                               f"Is it raining in {en}?", f"Tell me the weather in {en}."])
        think_call = f"The user wants the weather in {en}. I will call get_weather."
        think_final = f"The tool says {condition[0]}, {temp} °C in {en}."
        final = f"It is {condition[0]} in {en}, {temp} °C."
    else:
        question = rng.choice([f"{ja}の天気は？", f"今日の{ja}の天気を教えてください。", f"{ja}は雨ですか？",
                               f"{ja}の天気はどうですか？"])
        think_call = f"{ja}の天気を知りたいようです。get_weatherを呼びます。"
        think_final = f"ツールの結果は{ja}で{condition[1]}、{temp}度です。"
        final = f"{ja}は{condition[1]}で、気温は{temp}度です。"
    if effort == "high":
        think_final += " Answer briefly." if language == "en" else "簡潔に答えます。"
    call = {"role": "assistant", "thinking": think_call,
            "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": name}}}]}
    messages = [{"role": "user", "content": question}, call, {"role": "tool", "content": result},
                _assistant(think_final, final)]
    return Conversation("weather", language, effort, "", messages, tools=[WEATHER_TOOL], answer=name)


def chat_template() -> str:
    return (shared_dir() / "llm-jp-4" / "chat_template.jinja").read_text(encoding="utf-8")


def render(conv: Conversation, template: str | None = None, *, upto: int | None = None,
           add_generation_prompt: bool = False) -> str:
    """The conversation as text in the LLM-jp-4 chat template; ``upto`` keeps only the first messages."""
    messages = conv.messages if upto is None else conv.messages[:upto]
    rendered, _ = render_jinja_template(
        conversations=[messages], tools=conv.tools, chat_template=template or chat_template(),
        add_generation_prompt=add_generation_prompt,
        reasoning_effort=conv.reasoning_effort, conversation_start_date=conv.date or "2026-11-26",
    )
    return rendered[0]


def prompt(conv: Conversation, template: str | None = None) -> str:
    """The inference prompt: the conversation up to its first user message, with the generation prompt."""
    return render(conv, template, upto=1, add_generation_prompt=True)
