"""A deterministic synthetic Harmony corpus for the demo model, with a held-out split.

Each conversation is in transformers' chat format: ``messages`` (user; assistant with ``thinking`` and
``content``; assistant ``tool_calls``; ``tool`` results), optional ``tools``, a ``reasoning_effort``
and a ``date``. ``render`` turns one into training text with the LLM-jp-4 chat template, read at run
time from the shared folder (never copied into the repository).

Questions come from templates, many per language, and the held-out split cannot overlap training. A
fixed seed partitions once: the arithmetic operand pairs; a quarter of the arithmetic templates and of
the weather templates of each language, whole (training never uses them, the held-out split uses only
them; training asks a few weather wordings of its own besides, never held out); and ten cities that
training never names at all, whose held-out questions (kind ``weather_new_city``) measure copying a name
never seen. An arithmetic question writes its expression in one of several styles (``23 + 45``,
``23+45``, full-width ``２３＋４５``, words such as ``23 plus 45`` or ``23足す45``), each trained in other
templates; the reasoning restates it as ``23 + 45``. Half the training questions are framed by words
around them (``frame``); held-out ones never are. ``call_drills`` gives weather questions, up to the
call, that name a random string to copy.
"""

from __future__ import annotations

import json
import random
import string
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
WEATHER_TEMPLATES = {
    "en": ["What's the weather in {}?", "How is the weather in {} today?", "Is it raining in {}?",
           "Tell me the weather in {}.", "Weather in {}?", "I'm going to {} tomorrow. What's the weather like there?",
           "Can you check the weather in {} for me?", "Do I need an umbrella in {}?", "{} weather",
           "What's it like outside in {}?", "How hot is it in {}?", "Is it cold in {} right now?",
           "Weather for {}, please.", "Any rain in {} today?", "Look up the weather in {}.",
           "What's the forecast for {}?", "I'm in {}. Should I bring a jacket?", "How's the weather over in {}?",
           "{}: sunny or rainy?", "What temperature is it in {}?"],
    "ja": ["{}の天気は？", "今日の{}の天気を教えてください。", "{}は雨ですか？", "{}の天気はどうですか？",
           "これから{}に行きます。天気はどうですか？", "{}の今の天気を調べてください。", "{}で傘は要りますか？",
           "{}の気温は何度ですか？", "{} 天気", "{}って今寒い？", "{}は晴れていますか？",
           "明日{}に出張です。天気を教えて。", "{}の天気を確認してもらえますか？", "{}の天候は？", "{}は暑いですか？",
           "{}の空模様を教えてください。", "今{}にいます。上着は要りますか？", "{}の天気予報は？", "{}、雨降ってる？",
           "{}の気温を調べて。"],
}
# Weather wordings that training asks besides its share of WEATHER_TEMPLATES and that are never held out: in
# them a comma, a colon, a dash, a space or a particle (で, では, も, まで) follows the name, which nothing else
# in training puts there. Without them the model took the word after the name for it ("Paris: sunny or
# rainy?" -> "sunny"), which they fixed; it also took the name with what follows it ("富山で傘" -> "富山傘"),
# which they did not (issue 20's notes).
TRAINING_ONLY_WEATHER_TEMPLATES = {
    "en": ["{}, what's the weather?", "In {}, is it sunny?", "{}: will it rain today?", "Rain in {}, yes or no?",
           "{} - is it warm there?", "How about {}? Is it windy?", "Weather in {}, now?", "{}; what's the temperature?"],
    "ja": ["{}では雨が降っていますか？", "{}で雪は降りますか？", "{} 今日の気温は？", "{}も雨ですか？", "{}：天気を教えて",
           "{}まで行きます。晴れていますか？", "{}では今、風が強いですか？", "{} は晴れ？"],
}
# Arithmetic questions: ``{}`` is the expression, written in one of EXPRESSION_STYLES.
ARITHMETIC_TEMPLATES = {
    "en": ["{}", "{} =", "{} = ?", "{}=?", "{}?", "What is {}?", "What's {}?", "Calculate {}.", "Please compute {}.",
           "Compute {}", "How much is {}?", "Can you work out {}?", "Solve {}.", "Tell me {}.", "What does {} equal?",
           "Quick question: what is {}?", "I need {}, please.", "Do the math: {}", "Evaluate {}.", "{} equals what?"],
    "ja": ["{}", "{} =", "{} = ?", "{}=?", "{}？", "{}は？", "{} はいくつですか？", "{} を計算してください。", "{}は何ですか？",
           "{}はいくつ？", "{}を教えてください。", "{}の答えは？", "計算して: {}", "{}を求めてください。", "{}っていくつ？",
           "{}の計算をお願いします。", "質問です。{}は？", "{}はいくらですか？", "{} の結果を教えて。", "{}を解いてください。"],
}
# Words around a training question, as people wrap what they ask: a template is then one of hundreds of
# framings, and the question's own words are not where it starts and ends. Held-out questions are never framed.
OPENERS = {
    "en": ["Hey, ", "Hi! ", "Hello. ", "OK, ", "So, ", "Um, ", "Question: ", "Quick one: ", "Excuse me, ",
           "Help me out: ", "One more: ", "Next: ", "Hmm. ", "Sorry, ", "Let me ask: "],
    "ja": ["すみません、", "ねえ、", "ちょっと質問。", "あの、", "えっと、", "こんにちは。", "もう一つ。", "次は", "質問:",
           "教えて。", "ごめん、", "急ぎで、", "確認です。", "ところで、", "ひとつ聞きたい。"],
}
CLOSERS = {
    "en": [" Thanks!", " Thank you.", " Thanks in advance.", " I'm curious.", " Just wondering.", " Be quick.",
           " Cheers.", " No rush.", " Much appreciated.", " If you can."],
    "ja": ["お願いします。", "ありがとう。", "よろしく。", "急ぎです。", "教えてね。", "助かります。", "気になります。",
           "すぐに。", "頼みます。", "どうも。"],
}
FRAMED_SHARE = 0.5
HELD_OUT_TEMPLATE_SHARE = 4  # one template in this many, per language and task, is held out
EXPRESSION_STYLES = ("spaced", "tight", "full_width", "words")
FULL_WIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
OPERATOR_WORDS = {"en": {"+": "plus", "-": "minus", "×": "times"}, "ja": {"+": "足す", "-": "引く", "×": "かける"}}
# Syllables for made-up place names (romaji, katakana), consonants and vowels for made-up Latin names, and
# kanji common in place names: most weather questions in training name a place made up from these, which
# it must copy into the tool call, so copying generalizes to cities it never saw.
SYLLABLES = [
    ("ka", "カ"), ("ki", "キ"), ("ku", "ク"), ("ke", "ケ"), ("ko", "コ"), ("sa", "サ"), ("shi", "シ"), ("su", "ス"),
    ("se", "セ"), ("so", "ソ"), ("ta", "タ"), ("chi", "チ"), ("tsu", "ツ"), ("te", "テ"), ("to", "ト"), ("na", "ナ"),
    ("ni", "ニ"), ("nu", "ヌ"), ("ne", "ネ"), ("no", "ノ"), ("ha", "ハ"), ("hi", "ヒ"), ("fu", "フ"), ("he", "ヘ"),
    ("ho", "ホ"), ("ma", "マ"), ("mi", "ミ"), ("mu", "ム"), ("me", "メ"), ("mo", "モ"), ("ya", "ヤ"), ("yu", "ユ"),
    ("yo", "ヨ"), ("ra", "ラ"), ("ri", "リ"), ("ru", "ル"), ("re", "レ"), ("ro", "ロ"), ("wa", "ワ"), ("n", "ン"),
    ("ga", "ガ"), ("gi", "ギ"), ("go", "ゴ"), ("da", "ダ"), ("do", "ド"), ("ba", "バ"), ("bi", "ビ"), ("bo", "ボ"),
    ("gu", "グ"), ("ge", "ゲ"), ("za", "ザ"), ("ji", "ジ"), ("zu", "ズ"), ("ze", "ゼ"), ("zo", "ゾ"), ("de", "デ"),
    ("bu", "ブ"), ("be", "ベ"), ("pa", "パ"), ("pi", "ピ"), ("pu", "プ"), ("pe", "ペ"), ("po", "ポ"), ("kyo", "キョ"),
    ("ryu", "リュ"), ("sha", "シャ"), ("cho", "チョ"), ("ju", "ジュ"), ("byu", "ビュ"), ("fi", "フィ"), ("we", "ウェ"),
    ("vi", "ヴィ"), ("o", "ー"), ("t", "ッ"),
]
LATIN_ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
                "ch", "cl", "dr", "fr", "gr", "pl", "pr", "sh", "st", "tr", "th", ""]
LATIN_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "ie"]
LATIN_CODAS = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "rg", "ck"]
PLACE_KANJI = "山川田島岡野原宮崎松本大小高長北南東西新福富和石井沢浜津橋村木林森谷坂平中上下桜葉城江湖尾鳥白青赤金銀朝日月星"
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
    kind: str  # arithmetic | unit | greeting | fact | weather | weather_new_city (held out) | echo | call_drill
    language: str
    reasoning_effort: str
    date: str
    messages: list[dict]
    tools: list[dict] | None = None
    answer: str = ""  # the expected number (arithmetic, unit), tool argument (weather) or words (echo)


def partition_key(a: int, op: str, b: int) -> tuple[str, int, int]:
    """What the split holds out: + and - by the unordered operand pair, × by (two-digit, one-digit)."""
    return ("×", a, b) if op == "×" else ("+-", min(a, b), max(a, b))


def _held_out_templates(rng: random.Random, templates: dict[str, list[str]]) -> dict[str, set[int]]:
    """Per language, the indices of the templates held out: every HELD_OUT_TEMPLATE_SHARE-th of a shuffle,
    and those that the other language shares and holds out."""
    held = {}
    for language in LANGUAGES:
        order = list(range(len(templates[language])))
        rng.shuffle(order)
        held[language] = set(order[:len(order) // HELD_OUT_TEMPLATE_SHARE])
    # a template of both languages (a bare "{} = ?") is held out in both if in either
    out = {text for language in LANGUAGES for i, text in enumerate(templates[language]) if i in held[language]}
    return {language: {i for i, text in enumerate(templates[language]) if text in out} for language in LANGUAGES}


def _partition() -> tuple[set, set, list, list, dict, dict]:
    """Return (train keys, held-out keys, train cities, held-out cities, held-out arithmetic templates,
    held-out weather templates), fixed by PARTITION_SEED."""
    rng = random.Random(PARTITION_SEED)
    keys = sorted({partition_key(a, "+", b) for a in range(10, 100) for b in range(10, 100)})
    keys += [partition_key(a, "×", d) for a in range(10, 100) for d in range(2, 10)]
    rng.shuffle(keys)
    held = len(keys) // 10
    cities = list(CITIES)
    rng.shuffle(cities)
    arithmetic_held = _held_out_templates(rng, ARITHMETIC_TEMPLATES)
    weather_held = _held_out_templates(rng, WEATHER_TEMPLATES)
    return (set(keys[held:]), set(keys[:held]), cities[HELD_OUT_CITY_COUNT:], cities[:HELD_OUT_CITY_COUNT],
            arithmetic_held, weather_held)


(TRAIN_KEYS, HELD_OUT_KEYS, TRAIN_CITIES, HELD_OUT_CITIES, HELD_OUT_ARITHMETIC_TEMPLATES,
 HELD_OUT_WEATHER_TEMPLATES) = _partition()


def templates(task: dict[str, list[str]], held: dict[str, set[int]], language: str, split: str) -> list[int]:
    """The indices of ``task``'s templates in ``language`` that ``split`` uses."""
    return [i for i in range(len(task[language])) if (i in held[language]) == (split == "held_out")]


def weather_templates(language: str, split: str) -> list[str]:
    """The weather question templates that ``split`` asks in ``language``: the held-out ones, or the others
    and the training-only ones."""
    asked = [WEATHER_TEMPLATES[language][i]
             for i in templates(WEATHER_TEMPLATES, HELD_OUT_WEATHER_TEMPLATES, language, split)]
    return asked if split == "held_out" else asked + TRAINING_ONLY_WEATHER_TEMPLATES[language]


def generate(count: int, *, seed: int, split: str = "train") -> list[Conversation]:
    """``count`` conversations for ``split`` ("train" or "held_out"), the same for the same seed."""
    if split not in ("train", "held_out"):
        raise ValueError(f"split must be 'train' or 'held_out', not {split!r}")
    rng = random.Random(f"{seed}/{split}")
    keys = sorted(TRAIN_KEYS if split == "train" else HELD_OUT_KEYS)
    kinds = (["arithmetic"] * 50 + ["unit"] * 5 + ["greeting"] * 4 + ["fact"] * 4 + ["weather"] * 26
             + ["tool_unused"] * 5 + ["echo"] * 6)
    out = []
    for i in range(count):
        language = LANGUAGES[i % 2]
        effort = EFFORTS[(i // 2) % 3]
        kind = rng.choice(kinds)
        date = _date(rng)
        if kind == "arithmetic" or kind == "tool_unused":
            template = rng.choice(templates(ARITHMETIC_TEMPLATES, HELD_OUT_ARITHMETIC_TEMPLATES, language, split))
            conv = arithmetic(_operands(rng.choice(keys), rng), language, effort, template, rng.choice(EXPRESSION_STYLES), rng)
            if kind == "tool_unused":
                conv = replace(conv, tools=[WEATHER_TOOL])
        elif kind == "unit":
            conv = unit(rng.choice(UNITS), rng.randint(2, 99), language, effort, rng)
        elif kind == "echo":
            conv = echo(" ".join(_echo_word(language, rng) for _ in range(rng.randint(1, 3))), language, effort, rng)
        elif kind == "greeting" or kind == "fact":
            conv = canned((GREETINGS if kind == "greeting" else FACTS)[language], kind, language, effort, rng)
        else:
            conv = _weather_question(split, language, rng)
            conv = replace(conv, reasoning_effort=effort)
        if split == "train" and kind in ("arithmetic", "tool_unused", "weather"):
            conv = frame(conv, rng)
        out.append(replace(conv, date=date))
    return out


def _date(rng: random.Random) -> str:
    return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def frame(conv: Conversation, rng: random.Random) -> Conversation:
    """``conv`` with, FRAMED_SHARE of the time, an opener, a closer or both around its question."""
    if rng.random() >= FRAMED_SHARE:
        return conv
    question, roll = conv.messages[0]["content"], rng.random()
    if roll < 0.7:
        opener = rng.choice(OPENERS[conv.language])
        capital = question[:1].isascii() and question[:1].isupper() and question[1:2].islower()
        if opener.endswith(", ") and capital and not question.startswith(conv.answer):  # a name keeps its capital
            question = question[0].lower() + question[1:]
        question = opener + question
    if roll >= 0.4:
        question += rng.choice(CLOSERS[conv.language])
    return replace(conv, messages=[{**conv.messages[0], "content": question}, *conv.messages[1:]])


def _operands(key: tuple[str, int, int], rng: random.Random) -> tuple[int, str, int]:
    kind, x, y = key
    if kind == "×":
        return x, "×", y
    if rng.random() < 0.5:
        return y, "-", x  # the larger first: answers are never negative
    return (x, "+", y) if rng.random() < 0.5 else (y, "+", x)


def _weather_question(split: str, language: str, rng: random.Random) -> Conversation:
    """Training: a training template naming a training city 40% of the time, else a place made up in the
    script of the language. Held out: a held-out template, naming a training city half the time (kind
    ``weather``), else a city that training never names (kind ``weather_new_city``)."""
    condition, temp = rng.choice(CONDITIONS), rng.randint(-5, 35)
    lang = LANGUAGES.index(language)
    template = rng.choice(weather_templates(language, split))
    if split == "held_out":
        if rng.random() < 0.5:
            return weather(rng.choice(TRAIN_CITIES)[lang], condition, temp, language, template)
        conv = weather(rng.choice(HELD_OUT_CITIES)[lang], condition, temp, language, template)
        return replace(conv, kind="weather_new_city")
    roll = rng.random()
    if roll < 0.4:
        name = rng.choice(TRAIN_CITIES)[lang]
    elif language == "en":
        name = _made_up_name(rng)[0] if roll < 0.6 else _latin_name(rng)
    elif roll < 0.65:
        name = _made_up_name(rng)[1]
    elif roll < 0.9:
        name = _kanji_name(rng)
    else:  # byte pieces to copy, as for a held-out city written in characters the model never saw
        name = _rare_characters(rng)
    return weather(name, condition, temp, language, template)


REAL_NAMES = {name for city in CITIES for name in city}


def _fresh(name: str) -> bool:
    """Whether a made-up ``name`` neither holds nor is part of a real city's name (case aside)."""
    folded = name.casefold()
    return not any(real.casefold() in folded or folded in real.casefold() for real in REAL_NAMES)


def _made_up_name(rng: random.Random) -> tuple[str, str]:
    """A made-up place name in romaji and katakana (never a real city's name)."""
    while True:
        parts = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))]
        en, ja = "".join(p[0] for p in parts).capitalize(), "".join(p[1] for p in parts)
        if _fresh(en) and _fresh(ja):
            return en, ja


def _latin_name(rng: random.Random) -> str:
    """A made-up place name of Latin letters beyond romaji's (Prague and Lisbon are not romaji)."""
    while True:
        name = "".join(rng.choice(LATIN_ONSETS) + rng.choice(LATIN_VOWELS) for _ in range(rng.randint(1, 3)))
        name = (name + rng.choice(LATIN_CODAS)).capitalize()
        if len(name) >= 3 and _fresh(name):
            return name


def _kanji_name(rng: random.Random) -> str:
    """A made-up place name of two or three kanji common in place names."""
    while True:
        name = "".join(rng.choice(PLACE_KANJI) for _ in range(rng.choice((2, 2, 3))))
        if _fresh(name):
            return name


def _rare_characters(rng: random.Random) -> str:
    """Two or three random CJK characters: too rare for the tokenizer, so they stay byte pieces."""
    while True:
        name = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 3)))
        if _fresh(name):
            return name


KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F5)) + "ー"


def _random_name(language: str, rng: random.Random) -> str:
    """A name that no model of names could guess, only copy: random letters, random katakana or random
    kanji (common ones, or rare ones that stay byte pieces); never a real city's name."""
    while True:
        roll = rng.random()
        if language == "en":
            name = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10))).capitalize()
        elif roll < 0.5:
            name = "".join(rng.choice(KATAKANA) for _ in range(rng.randint(2, 6)))
        elif roll < 0.8:
            name = "".join(rng.choice(PLACE_KANJI) for _ in range(rng.randint(2, 3)))
        else:
            name = _rare_characters(rng)
        if _fresh(name):
            return name


def call_drills(count: int, *, seed: int) -> list[Conversation]:
    """``count`` weather questions in training templates that name a random string (``_random_name``), up
    to the get_weather call: short samples whose one lesson is copying a name from the question into the
    call by what it is, piece after piece, where the made-up names of ``generate`` can be half guessed."""
    rng = random.Random(f"{seed}/drills")
    out = []
    for i in range(count):
        language = LANGUAGES[i % 2]
        template = rng.choice(weather_templates(language, "train"))
        conv = frame(weather(_random_name(language, rng), CONDITIONS[0], 0, language, template), rng)
        out.append(replace(conv, kind="call_drill", messages=conv.messages[:2], reasoning_effort=EFFORTS[(i // 2) % 3],
                           date=_date(rng)))
    return out


def _word(rng: random.Random) -> str:
    """A random word to repeat: a number, or a made-up name in romaji, Latin letters, katakana, kanji or
    rare characters."""
    roll = rng.random()
    if roll < 0.2:
        return str(rng.randint(10, 9999))
    if roll < 0.4:
        return _made_up_name(rng)[0]
    if roll < 0.55:
        return _latin_name(rng)
    if roll < 0.75:
        return _made_up_name(rng)[1]
    if roll < 0.9:
        return _kanji_name(rng)
    return _rare_characters(rng)


# The words of the corpus's own answers (GREETINGS, FACTS): English words, or whole Japanese answers.
ANSWER_WORDS = {
    "en": [w for w in (w.strip(".!?,") for _, a in GREETINGS["en"] + FACTS["en"] for w in a.split()) if w],
    "ja": [a.rstrip("。！") for _, a in GREETINGS["ja"] + FACTS["ja"]],
}


def _echo_word(language: str, rng: random.Random) -> str:
    """A word to repeat: half the time one of ANSWER_WORDS, so that words never seen are not what marks a
    request to repeat (v7 at twice the steps read "Calculate 82-28." as one)."""
    if rng.random() < 0.5:
        return _word(rng)
    return rng.choice(ANSWER_WORDS[language])


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


def expression(a: int, op: str, b: int, language: str, style: str, rng: random.Random) -> str:
    """``a op b`` as a person might type it in ``style`` (EXPRESSION_STYLES); × also as * or x."""
    if style == "words":
        return f"{a} {OPERATOR_WORDS['en'][op]} {b}" if language == "en" else f"{a}{OPERATOR_WORDS['ja'][op]}{b}"
    if op == "×":
        op = rng.choice(("×", "×", "*", "x")) if style != "full_width" else rng.choice(("×", "＊"))
    if style == "spaced":
        return f"{a} {op} {b}"
    tight = f"{a}{op}{b}"
    return tight.translate(FULL_WIDTH) if style == "full_width" else tight


def arithmetic(operands: tuple[int, str, int], language: str, effort: str, template: int, style: str,
               rng: random.Random) -> Conversation:
    """A question in ``ARITHMETIC_TEMPLATES[language][template]``, its expression written in ``style``;
    the reasoning restates it as ``a op b`` and works it column by column."""
    a, op, b = operands
    r = _compute(a, op, b)
    expr = f"{a} {op} {b}"
    calc = column_steps(a, op, b)
    question = ARITHMETIC_TEMPLATES[language][template].format(expression(a, op, b, language, style, rng))
    if language == "en":
        thinking = {"low": f"{calc}.", "medium": f"The user asks for {expr}. {calc}.",
                    "high": f"The user asks for {expr}. I will go column by column. {calc}. The answer is {r}."}[effort]
        final = f"{expr} = {r}."
    else:
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
        question = rng.choice([f"Repeat after me: \"{text}\"", f"Say \"{text}\".", f"Please repeat: \"{text}\""])
        thinking = f"The user wants me to repeat {text}."
    else:
        question = rng.choice([f"次の言葉を繰り返してください: 「{text}」", f"「{text}」と言ってください。"])
        thinking = f"{text} を繰り返します。"
    if effort == "high":
        thinking += " I copy it exactly." if language == "en" else "そのまま書きます。"
    return Conversation("echo", language, effort, "", [{"role": "user", "content": question},
                                                      _assistant(thinking, text)], answer=text)


def weather(name: str, condition: tuple, temp: int, language: str, template: str) -> Conversation:
    """A weather question (``template`` naming ``name``), the get_weather call with ``name``, its result,
    and the answer."""
    result = json.dumps({"city": name, "condition": condition[0], "temperature_c": temp}, ensure_ascii=False)
    question = template.format(name)
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


EVALUATION_SEED = 99


def evaluation(kind: str, count: int) -> list[Conversation]:
    """The first ``count`` held-out conversations of ``kind`` with distinct questions: the prompts that
    ``demo.sample`` and the Java DemoModelIT score."""
    seen, out = set(), []
    for conv in generate(20 * count, seed=EVALUATION_SEED, split="held_out"):
        question = conv.messages[0]["content"]
        if conv.kind == kind and question not in seen:
            seen.add(question)
            out.append(conv)
            if len(out) == count:
                return out
    raise ValueError(f"fewer than {count} distinct held-out {kind} questions")
