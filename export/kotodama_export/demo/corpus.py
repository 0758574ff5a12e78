"""A deterministic synthetic Harmony corpus for the demo model, with a held-out split.

Each conversation is in transformers' chat format: ``messages`` (user; assistant with ``thinking`` and
``content``; assistant ``tool_calls``; ``tool`` results), optional ``tools``, a ``reasoning_effort``
and a ``date``. ``render`` turns one into training text with the LLM-jp-4 chat template, read at run
time from the shared folder (never copied into the repository).

The held-out split cannot overlap training. A fixed seed partitions once: the arithmetic operand
pairs; the weather questions, each (city, language, wording) being held out or trained on, one wording
of eight per city and language held out; and ten cities that training never names at all, whose
held-out questions (kind ``weather_new_city``) measure copying a name never seen.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from transformers.utils.chat_template_utils import render_jinja_template

from ..random_checkpoint import shared_dir

EFFORTS = ("low", "medium", "high")
LANGUAGES = ("en", "ja")
OPERATORS = ("+", "-", "×")
PARTITION_SEED = 20261126  # fixes which operand pairs and cities are held out

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
    ("Aomori", "青森"), ("Akita", "秋田"), ("Morioka", "盛岡"), ("Yamagata", "山形"), ("Fukushima", "福島"),
    ("Mito", "水戸"), ("Utsunomiya", "宇都宮"), ("Maebashi", "前橋"), ("Chiba", "千葉"), ("Kawasaki", "川崎"),
    ("Kofu", "甲府"), ("Nagano", "長野"), ("Gifu", "岐阜"), ("Otsu", "大津"), ("Wakayama", "和歌山"),
    ("Tottori", "鳥取"), ("Matsue", "松江"), ("Yamaguchi", "山口"), ("Tokushima", "徳島"), ("Takamatsu", "高松"),
    ("Kochi", "高知"), ("Saga", "佐賀"), ("Oita", "大分"), ("Miyazaki", "宮崎"), ("Kagoshima", "鹿児島"),
    ("Toyama", "富山"), ("Fukui", "福井"), ("Kitakyushu", "北九州"), ("Sakai", "堺"), ("Himeji", "姫路"),
    ("Paris", "パリ"), ("London", "ロンドン"), ("Berlin", "ベルリン"), ("Rome", "ローマ"), ("Madrid", "マドリード"),
    ("Seoul", "ソウル"), ("Beijing", "北京"), ("Bangkok", "バンコク"), ("Sydney", "シドニー"), ("Cairo", "カイロ"),
    ("Toronto", "トロント"), ("Chicago", "シカゴ"), ("Boston", "ボストン"), ("Vienna", "ウィーン"), ("Prague", "プラハ"),
    ("Dublin", "ダブリン"), ("Oslo", "オスロ"), ("Lisbon", "リスボン"), ("Athens", "アテネ"), ("Hanoi", "ハノイ"),
    ("Manila", "マニラ"), ("Jakarta", "ジャカルタ"), ("Singapore", "シンガポール"), ("Taipei", "台北"), ("Shanghai", "上海"),
    ("Delhi", "デリー"), ("Mumbai", "ムンバイ"), ("Dubai", "ドバイ"), ("Istanbul", "イスタンブール"), ("Moscow", "モスクワ"),
    ("Warsaw", "ワルシャワ"), ("Stockholm", "ストックホルム"), ("Helsinki", "ヘルシンキ"), ("Amsterdam", "アムステルダム"),
    ("Brussels", "ブリュッセル"), ("Zurich", "チューリッヒ"), ("Munich", "ミュンヘン"), ("Milan", "ミラノ"),
    ("Barcelona", "バルセロナ"), ("Lima", "リマ"), ("Santiago", "サンティアゴ"), ("Vancouver", "バンクーバー"),
    ("Seattle", "シアトル"), ("Denver", "デンバー"), ("Miami", "マイアミ"), ("Honolulu", "ホノルル"),
    ("Auckland", "オークランド"), ("Nairobi", "ナイロビ"), ("Lagos", "ラゴス"), ("Havana", "ハバナ"),
]
HELD_OUT_CITY_COUNT = 10
WEATHER_QUESTIONS = {
    "en": ["What's the weather in {}?", "How is the weather in {} today?", "Is it raining in {}?",
           "Tell me the weather in {}.", "Weather in {}?", "I'm going to {} tomorrow. What's the weather like there?",
           "Can you check the weather in {} for me?", "Do I need an umbrella in {}?"],
    "ja": ["{}の天気は？", "今日の{}の天気を教えてください。", "{}は雨ですか？", "{}の天気はどうですか？",
           "これから{}に行きます。天気はどうですか？", "{}の今の天気を調べてください。", "{}で傘は要りますか？",
           "{}の気温は何度ですか？"],
}
# Syllables for made-up place names (romaji, katakana): training sees many names it must copy into
# the tool call, so copying generalizes to cities it never saw.
SYLLABLES = [
    ("ka", "カ"), ("ki", "キ"), ("ku", "ク"), ("ke", "ケ"), ("ko", "コ"), ("sa", "サ"), ("shi", "シ"), ("su", "ス"),
    ("se", "セ"), ("so", "ソ"), ("ta", "タ"), ("chi", "チ"), ("tsu", "ツ"), ("te", "テ"), ("to", "ト"), ("na", "ナ"),
    ("ni", "ニ"), ("nu", "ヌ"), ("ne", "ネ"), ("no", "ノ"), ("ha", "ハ"), ("hi", "ヒ"), ("fu", "フ"), ("he", "ヘ"),
    ("ho", "ホ"), ("ma", "マ"), ("mi", "ミ"), ("mu", "ム"), ("me", "メ"), ("mo", "モ"), ("ya", "ヤ"), ("yu", "ユ"),
    ("yo", "ヨ"), ("ra", "ラ"), ("ri", "リ"), ("ru", "ル"), ("re", "レ"), ("ro", "ロ"), ("wa", "ワ"), ("n", "ン"),
    ("ga", "ガ"), ("gi", "ギ"), ("go", "ゴ"), ("da", "ダ"), ("do", "ド"), ("ba", "バ"), ("bi", "ビ"), ("bo", "ボ"),
]
CONDITIONS = [("sunny", "晴れ"), ("cloudy", "曇り"), ("rainy", "雨"), ("snowy", "雪"), ("windy", "強風")]

UNITS = [  # (from en, to en, from ja, to ja, factor)
    ("km", "m", "キロメートル", "メートル", 1000), ("m", "cm", "メートル", "センチメートル", 100),
    ("cm", "mm", "センチメートル", "ミリメートル", 10), ("kg", "g", "キログラム", "グラム", 1000),
    ("hours", "minutes", "時間", "分", 60), ("minutes", "seconds", "分", "秒", 60),
    ("L", "mL", "リットル", "ミリリットル", 1000),
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
    kind: str  # arithmetic | unit | greeting | fact | weather | weather_new_city (held out) | echo
    language: str
    reasoning_effort: str
    date: str
    messages: list[dict]
    tools: list[dict] | None = None
    answer: str = ""  # the expected number (arithmetic, unit), tool argument (weather) or words (echo)


def partition_key(a: int, op: str, b: int) -> tuple[str, int, int]:
    """What the split holds out: + and - by the unordered operand pair, × by (two-digit, one-digit)."""
    return ("×", a, b) if op == "×" else ("+-", min(a, b), max(a, b))


def _partition() -> tuple[set, set, list, list, dict]:
    """Return (train keys, held-out keys, train cities, held-out cities, held-out wording), fixed by
    PARTITION_SEED. The held-out wording maps (training city, language) to the index of the question
    wording that training never pairs with that city."""
    rng = random.Random(PARTITION_SEED)
    keys = sorted({partition_key(a, "+", b) for a in range(10, 100) for b in range(10, 100)})
    keys += [partition_key(a, "×", d) for a in range(10, 100) for d in range(2, 10)]
    rng.shuffle(keys)
    held = len(keys) // 10
    cities = list(CITIES)
    rng.shuffle(cities)
    wording = {(city, language): rng.randrange(len(WEATHER_QUESTIONS[language]))
               for city in cities[HELD_OUT_CITY_COUNT:] for language in LANGUAGES}
    return set(keys[held:]), set(keys[:held]), cities[HELD_OUT_CITY_COUNT:], cities[:HELD_OUT_CITY_COUNT], wording


TRAIN_KEYS, HELD_OUT_KEYS, TRAIN_CITIES, HELD_OUT_CITIES, HELD_OUT_WORDING = _partition()


def generate(count: int, *, seed: int, split: str = "train") -> list[Conversation]:
    """``count`` conversations for ``split`` ("train" or "held_out"), the same for the same seed."""
    if split not in ("train", "held_out"):
        raise ValueError(f"split must be 'train' or 'held_out', not {split!r}")
    rng = random.Random(f"{seed}/{split}")
    keys = sorted(TRAIN_KEYS if split == "train" else HELD_OUT_KEYS)
    kinds = (["arithmetic"] * 54 + ["unit"] * 5 + ["greeting"] * 4 + ["fact"] * 4 + ["weather"] * 24
             + ["tool_unused"] * 6 + ["echo"] * 3)
    out = []
    for i in range(count):
        language = LANGUAGES[i % 2]
        effort = EFFORTS[(i // 2) % 3]
        kind = rng.choice(kinds)
        date = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if kind == "arithmetic" or kind == "tool_unused":
            conv = arithmetic(_operands(rng.choice(keys), rng), language, effort, rng)
            if kind == "tool_unused":
                conv = replace(conv, tools=[WEATHER_TOOL])
        elif kind == "unit":
            conv = unit(rng.choice(UNITS), rng.randint(2, 99), language, effort, rng)
        elif kind == "echo":
            conv = echo(" ".join(_word(rng) for _ in range(rng.randint(1, 3))), language, effort, rng)
        elif kind == "greeting" or kind == "fact":
            conv = canned((GREETINGS if kind == "greeting" else FACTS)[language], kind, language, effort, rng)
        else:
            conv = _weather_question(split, language, rng)
            conv = replace(conv, reasoning_effort=effort)
        out.append(replace(conv, date=date))
    return out


def _operands(key: tuple[str, int, int], rng: random.Random) -> tuple[int, str, int]:
    kind, x, y = key
    if kind == "×":
        return x, "×", y
    if rng.random() < 0.5:
        return y, "-", x  # the larger first: answers are never negative
    return (x, "+", y) if rng.random() < 0.5 else (y, "+", x)


def _weather_question(split: str, language: str, rng: random.Random) -> Conversation:
    """Training: a training city in a wording trained on for it (85% of the time), else a made-up name in
    any wording. Held out: half the time a training city in its held-out wording, else a held-out city."""
    condition, temp = rng.choice(CONDITIONS), rng.randint(-5, 35)
    lang = LANGUAGES.index(language)
    if split == "held_out":
        if rng.random() < 0.5:
            city = rng.choice(TRAIN_CITIES)
            return weather(city[lang], condition, temp, language, HELD_OUT_WORDING[city, language])
        conv = weather(rng.choice(HELD_OUT_CITIES)[lang], condition, temp, language,
                       rng.randrange(len(WEATHER_QUESTIONS[language])))
        return replace(conv, kind="weather_new_city")
    roll = rng.random()
    if roll < 0.85:
        city = rng.choice(TRAIN_CITIES)
        wording = rng.choice([w for w in range(len(WEATHER_QUESTIONS[language]))
                              if w != HELD_OUT_WORDING[city, language]])
        return weather(city[lang], condition, temp, language, wording)
    if roll < 0.95 or language == "en":
        name = _made_up_name(rng)[lang]
    else:  # byte pieces to copy, as for a held-out city written in characters the model never saw
        name = _rare_characters(rng)
    return weather(name, condition, temp, language, rng.randrange(len(WEATHER_QUESTIONS[language])))


def _made_up_name(rng: random.Random) -> tuple[str, str]:
    """A made-up place name in romaji and katakana (never a real city's English name)."""
    while True:
        parts = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))]
        en = "".join(p[0] for p in parts).capitalize()
        if all(en != c[0] for c in CITIES):
            return en, "".join(p[1] for p in parts)


def _rare_characters(rng: random.Random) -> str:
    """Two or three random CJK characters: too rare for the tokenizer, so they stay byte pieces."""
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 3)))


def _word(rng: random.Random) -> str:
    """A random word to repeat: a number, a made-up name in romaji or katakana, or rare characters."""
    roll = rng.random()
    if roll < 0.3:
        return str(rng.randint(10, 9999))
    if roll < 0.8:
        return _made_up_name(rng)[roll < 0.55]
    return _rare_characters(rng)


def _assistant(thinking: str, content: str) -> dict:
    return {"role": "assistant", "thinking": thinking, "content": content}


def _compute(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def column_steps(a: int, op: str, b: int) -> str:
    """Worked reasoning, one column at a time, in notation that is the same in both languages:
    ``97 - 83 → 7 - 3 = 4 (borrow 0), 9 - 8 - 0 = 1 → 14``. Each digit it uses sits a fixed number of
    tokens after the restated problem, whatever the language or effort."""
    ao, at, bo = a % 10, a // 10, b % 10
    r = _compute(a, op, b)
    if op == "+":
        s = ao + bo
        ones, tens = f"{ao} + {bo} = {s} ({s % 10}, carry {s // 10})", f"{at} + {b // 10} + {s // 10} = {at + b // 10 + s // 10}"
    elif op == "-":
        borrow = int(ao < bo)
        ones = f"{ao + 10 * borrow} - {bo} = {ao + 10 * borrow - bo} (borrow {borrow})"
        tens = f"{at} - {b // 10} - {borrow} = {at - b // 10 - borrow}"
    else:
        p, t = ao * b, at * b
        ones, tens = f"{ao} × {b} = {p} ({p % 10}, carry {p // 10})", f"{at} × {b} = {t}, {t} + {p // 10} = {t + p // 10}"
    return f"{a} {op} {b} → {ones}, {tens} → {r}"


def arithmetic(operands: tuple[int, str, int], language: str, effort: str, rng: random.Random) -> Conversation:
    a, op, b = operands
    r = _compute(a, op, b)
    expr = f"{a} {op} {b}"
    calc = column_steps(a, op, b)
    if language == "en":
        question = rng.choice([f"What is {expr}?", f"Calculate {expr}.", f"{expr} = ?", f"Please compute {expr}."])
        thinking = {"low": f"{calc}.", "medium": f"The user asks for {expr}. {calc}.",
                    "high": f"The user asks for {expr}. I will go column by column. {calc}. The answer is {r}."}[effort]
        final = f"{expr} = {r}."
    else:
        question = rng.choice([f"{expr} はいくつですか？", f"{expr} を計算してください。", f"{expr} = ?", f"{expr} は？"])
        thinking = {"low": f"{calc}。", "medium": f"{expr} を計算します。{calc}。",
                    "high": f"{expr} を計算します。一桁ずつ計算します。{calc}。答えは {r} です。"}[effort]
        final = f"{expr} = {r} です。"
    return Conversation("arithmetic", language, effort, "", [{"role": "user", "content": question},
                                                            _assistant(thinking, final)], answer=str(r))


def unit(spec: tuple, value: int, language: str, effort: str, rng: random.Random) -> Conversation:
    fe, te, fj, tj, factor = spec
    r = value * factor
    ja = language == "ja"
    end = "。" if ja else "."
    if factor == 60:
        six = value * 6
        steps = f"{value} × 60 = {value} × 6 × 10{end} "
        steps += (column_steps(value, "×", 6) if value >= 10 else f"{value} × 6 = {six}") + f", {six} × 10 = {r}{end}"
    else:
        zeros = len(str(factor)) - 1
        steps = (f"{factor} を掛けると 0 が {zeros} 個つきます: {value} × {factor} = {r}。" if ja
                 else f"Multiplying by {factor} appends {zeros} zeros: {value} × {factor} = {r}.")
    if ja:
        question = rng.choice([f"{value}{fj}は何{tj}ですか？", f"{value}{fj}を{tj}に変換してください。"])
        head, fact = f"{value}{fj}を{tj}に直します。", f"1{fj}は{factor}{tj}です。"
        final = f"{value}{fj}は{r}{tj}です。"
    else:
        question = rng.choice([f"How many {te} are in {value} {fe}?", f"Convert {value} {fe} to {te}."])
        head, fact = f"The user wants {value} {fe} in {te}.", f"1 {fe} is {factor} {te}."
        final = f"{value} {fe} is {r} {te}."
    parts = [fact, steps] if effort == "low" else [head, fact, steps]
    thinking = ("" if ja else " ").join(parts)
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


def echo(text: str, language: str, effort: str, rng: random.Random) -> Conversation:
    """Repeat the user's words: the plainest lesson in copying from the prompt."""
    if language == "en":
        question = rng.choice([f"Repeat after me: {text}", f"Say \"{text}\".", f"Please repeat: {text}"])
        thinking = f"The user wants me to repeat {text}."
    else:
        question = rng.choice([f"次の言葉を繰り返してください: {text}", f"「{text}」と言ってください。"])
        thinking = f"{text} を繰り返します。"
    if effort == "high":
        thinking += " I copy it exactly." if language == "en" else "そのまま書きます。"
    return Conversation("echo", language, effort, "", [{"role": "user", "content": question},
                                                      _assistant(thinking, text)], answer=text)


def weather(name: str, condition: tuple, temp: int, language: str, wording: int) -> Conversation:
    """A weather question (``WEATHER_QUESTIONS[language][wording]``), the get_weather call with ``name``,
    its result, and the answer."""
    result = json.dumps({"city": name, "condition": condition[0], "temperature_c": temp}, ensure_ascii=False)
    question = WEATHER_QUESTIONS[language][wording].format(name)
    if language == "en":
        think_final = f"The tool says {condition[0]}, {temp} °C in {name}."
        final = f"It is {condition[0]} in {name}, {temp} °C."
    else:
        think_final = f"ツールの結果は{name}で{condition[1]}、{temp}度です。"
        final = f"{name}は{condition[1]}で、気温は{temp}度です。"
    call = {"role": "assistant",
            "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": name}}}]}
    messages = [{"role": "user", "content": question}, call, {"role": "tool", "content": result},
                _assistant(think_final, final)]
    return Conversation("weather", language, "", "", messages, tools=[WEATHER_TOOL], answer=name)


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
