"""The demo model's synthetic Harmony corpus: well-formed, deterministic, varied, and split cleanly."""

from __future__ import annotations

import json
import re

import pytest

from kotodama_export.demo import corpus

N = 600
FINAL = r"<\|start\|>assistant<\|channel\|>analysis<\|message\|>[^<]+<\|end\|><\|start\|>assistant<\|channel\|>final<\|message\|>[^<]+<\|return\|>"
CALL_MESSAGE = r"<\|start\|>assistant to=functions\.get_weather<\|channel\|>commentary json<\|message\|>(\{[^<]*\})<\|call\|>"
CALL = CALL_MESSAGE + r"<\|start\|>functions\.get_weather to=assistant<\|channel\|>commentary<\|message\|>[^<]+<\|end\|>"


@pytest.fixture(scope="module")
def template() -> str:
    return corpus.chat_template()


@pytest.fixture(scope="module")
def train() -> list[corpus.Conversation]:
    return corpus.generate(N, seed=7)


@pytest.fixture(scope="module")
def held_out() -> list[corpus.Conversation]:
    return corpus.generate(N, seed=7, split="held_out")


def test_every_sample_renders_analysis_then_final_ending_in_return(train, template):
    for conv in train:
        text = corpus.render(conv, template)
        after_user = text.split("<|start|>user<|message|>", 1)[1].split("<|end|>", 1)[1]
        if conv.kind == "weather":
            m = re.fullmatch(CALL + FINAL, after_user)
            assert m, after_user
            assert json.loads(m.group(1)) == {"city": conv.answer}
        else:
            assert re.fullmatch(FINAL, after_user), after_user
        assert text.endswith("<|return|>") and text.count("<|return|>") == 1


WORKED = re.compile(r"(\d+) ([-+×]) (\d+) →")
ASCII = str.maketrans("０１２３４５６７８９＋－＊", "0123456789+-×")


def asked(question: str) -> str:
    """The question's expression as ``a op b`` without spaces: full-width, words, * and x undone."""
    text = question.translate(ASCII)
    for words in corpus.OPERATOR_WORDS.values():
        for op, word in words.items():
            text = text.replace(word, op)
    text = re.sub(r"(?<=\d) ?[*x] ?(?=\d)", "×", text)
    return re.search(r"\d+ ?[-+×] ?\d+", text)[0].replace(" ", "")


def test_arithmetic_answers_are_correct_and_in_the_final_message(train, template):
    arithmetic = [c for c in train if c.kind == "arithmetic"]
    for conv in arithmetic:
        a, sym, b = WORKED.search(conv.messages[-1]["thinking"]).groups()
        expected = {"+": int(a) + int(b), "-": int(a) - int(b), "×": int(a) * int(b)}[sym]
        assert conv.answer == str(expected) and expected >= 0
        assert f"= {expected}" in conv.messages[-1]["content"]
    assert {WORKED.search(c.messages[-1]["thinking"])[2] for c in arithmetic} == set(corpus.OPERATORS)


def test_the_question_asks_what_the_reasoning_works_out_in_every_style(train, held_out):
    for conv in [c for c in train + held_out if c.kind == "arithmetic"]:
        a, op, b = WORKED.search(conv.messages[-1]["thinking"]).groups()
        assert asked(conv.messages[0]["content"]) == f"{a}{op}{b}", conv.messages[0]["content"]
    for split in (train, held_out):
        questions = [c.messages[0]["content"] for c in split if c.kind == "arithmetic"]
        assert any(re.search(r"\d [-+×] \d", q) for q in questions)  # spaced
        assert any(re.search(r"\d[-+×*x]\d", q) for q in questions)  # tight
        assert any(re.search("[０-９]", q) for q in questions)  # full width
        assert any(word in q for q in questions for word in ("plus", "minus", "times", "足す", "引く", "かける"))


@pytest.mark.parametrize("a, op, b, steps", [
    (47, "+", 38, "47 + 38 → 7 + 8 = 15 (5, carry 1), 4 + 3 + 1 = 8 → 85"),
    (97, "+", 88, "97 + 88 → 7 + 8 = 15 (5, carry 1), 9 + 8 + 1 = 18 → 185"),
    (82, "-", 37, "82 - 37 → 12 - 7 = 5 (borrow 1), 8 - 3 - 1 = 4 → 45"),
    (45, "-", 38, "45 - 38 → 15 - 8 = 7 (borrow 1), 4 - 3 - 1 = 0 → 7"),
    (47, "×", 8, "47 × 8 → 7 × 8 = 56 (6, carry 5), 4 × 8 = 32, 32 + 5 = 37 → 376"),
])
def test_reasoning_works_column_by_column(a, op, b, steps):
    assert corpus.column_steps(a, op, b) == steps


def test_the_worked_columns_are_the_same_in_both_languages_and_every_effort(train):
    arithmetic = [c for c in train if c.kind == "arithmetic"]
    for conv in arithmetic:
        a, op, b = WORKED.search(conv.messages[-1]["thinking"]).groups()
        assert corpus.column_steps(int(a), op, int(b)) in conv.messages[-1]["thinking"]
    assert {(c.language, c.reasoning_effort) for c in arithmetic} == {(l, e) for l in corpus.LANGUAGES
                                                                      for e in corpus.EFFORTS}


def template_of(question: str, language: str, task: dict[str, list[str]], slot: str, framed: bool = False) -> set[int]:
    """The indices of ``task``'s templates in ``language`` that ``question`` fits, ``slot`` filling the blank;
    ``framed``: as training asks, inside one of the corpus's openers and closers, or none."""
    opener = f"(?:{'|'.join(map(re.escape, corpus.OPENERS[language]))})?" if framed else ""
    closer = f"(?:{'|'.join(map(re.escape, corpus.CLOSERS[language]))})?" if framed else ""
    fits = set()
    for i, t in enumerate(task[language]):
        pattern = re.escape(t).replace(r"\{\}", slot)
        if framed and t[:1].isascii() and t[:1].isalpha():  # "Hey, what's the weather in Tokyo?"
            pattern = f"[{t[0]}{t[0].lower()}]" + pattern[1:]
        if re.fullmatch(opener + pattern + closer, question):
            fits.add(i)
    return fits


EXPRESSION = r"[0-9０-９]+ ?(?:[-+×*x＋－＊]|plus|minus|times|足す|引く|かける) ?[0-9０-９]+"
CITY = r"[^\s?？。、,.:：;]+"
# the weather templates, then training's own: a held-out index is one of the first
WEATHER_ASKED = {language: corpus.WEATHER_TEMPLATES[language] + corpus.TRAINING_ONLY_WEATHER_TEMPLATES[language]
                 for language in corpus.LANGUAGES}


def test_held_out_split_shares_no_operand_pair_template_or_new_city_with_training(train, held_out):
    assert not corpus.TRAIN_KEYS & corpus.HELD_OUT_KEYS
    assert not set(corpus.TRAIN_CITIES) & set(corpus.HELD_OUT_CITIES)

    def keys(convs):
        found = (WORKED.search(c.messages[-1]["thinking"]) for c in convs if c.kind == "arithmetic")
        return {corpus.partition_key(int(m[1]), m[2], int(m[3])) for m in found}

    assert keys(held_out) and keys(held_out) <= corpus.HELD_OUT_KEYS
    assert not keys(held_out) & keys(train)
    # whole templates are held out, a quarter of each task's per language, and a held-out question fits no
    # template that training asks (the weather's training-only wordings included)
    for own, held in [(corpus.ARITHMETIC_TEMPLATES, corpus.HELD_OUT_ARITHMETIC_TEMPLATES),
                      (corpus.WEATHER_TEMPLATES, corpus.HELD_OUT_WEATHER_TEMPLATES)]:
        for language in corpus.LANGUAGES:
            assert len(own[language]) >= 16 and len(held[language]) >= len(own[language]) // 4
    for task, held, kinds, slot in [(corpus.ARITHMETIC_TEMPLATES, corpus.HELD_OUT_ARITHMETIC_TEMPLATES, {"arithmetic"}, EXPRESSION),
                                    (WEATHER_ASKED, corpus.HELD_OUT_WEATHER_TEMPLATES, {"weather", "weather_new_city"}, CITY)]:
        for split, expect_held in ((train, False), (held_out, True)):
            convs = [c for c in split if c.kind in kinds]
            assert convs
            for conv in convs:
                fits = template_of(conv.messages[0]["content"], conv.language, task, slot, framed=not expect_held)
                assert fits, conv.messages[0]["content"]
                assert all((i in held[conv.language]) == expect_held for i in fits), conv.messages[0]["content"]
    # held-out weather questions name training cities, or ten cities never named in training at all
    cities = {c.answer for c in held_out if c.kind == "weather"}
    assert len(cities) > 20 and cities <= {name for city in corpus.TRAIN_CITIES for name in city}
    new_cities = {c.answer for c in held_out if c.kind == "weather_new_city"}
    assert len(new_cities) >= 15 and new_cities <= {name for city in corpus.HELD_OUT_CITIES for name in city}
    everything = " ".join(corpus.render(c) for c in train).casefold()
    assert not [c for c in corpus.HELD_OUT_CITIES if c[0].casefold() in everything or c[1] in everything]


def test_most_weather_questions_in_training_name_a_made_up_place_to_copy(train):
    weather = [c for c in train if c.kind == "weather"]
    real = {name for city in corpus.CITIES for name in city}
    made_up = [c for c in weather if c.answer not in real]
    assert 0.5 < len(made_up) / len(weather) < 0.7
    scripts = {"latin": r"[A-Za-z]+", "katakana": r"[ァ-ヴー]+", "kanji": r"[一-龥]+"}
    for language, script in (("en", "latin"), ("ja", "katakana"), ("ja", "kanji")):
        assert any(c.language == language and re.fullmatch(scripts[script], c.answer) for c in made_up)


def test_half_the_training_questions_are_framed_by_words_around_them_and_no_held_out_one_is(train, held_out):
    asked = {"arithmetic", "weather"}
    for split, share in ((train, corpus.FRAMED_SHARE), (held_out, 0)):
        framed = []
        for conv in (c for c in split if c.kind in asked):
            question = conv.messages[0]["content"]
            opener = next((o for o in corpus.OPENERS[conv.language] if question.startswith(o)), "")
            closer = next((c for c in corpus.CLOSERS[conv.language] if question.endswith(c)), "")
            framed.append(bool(opener or closer))
        assert abs(sum(framed) / len(framed) - share) < 0.1, sum(framed) / len(framed)
    # an English question goes on in lower case after "Hey, ": "Hey, what's the weather in Tokyo?"
    assert any(re.match(r"[A-Z][a-z ]*, [a-z]", c.messages[0]["content"]) for c in train if c.kind in asked)


def test_call_drills_copy_a_random_name_from_a_training_template_into_the_call_and_end_there(template):
    drills = corpus.call_drills(300, seed=7)
    real = {name for city in corpus.CITIES for name in city}
    for conv in drills:
        text = corpus.render(conv, template)
        call = re.search(CALL_MESSAGE + "$", text)
        assert call, text[-200:]
        assert json.loads(call[1]) == {"city": conv.answer}
        assert conv.answer not in real and conv.answer in conv.messages[0]["content"]
        fits = template_of(conv.messages[0]["content"], conv.language, WEATHER_ASKED, CITY, framed=True)
        assert fits and not fits & corpus.HELD_OUT_WEATHER_TEMPLATES[conv.language], conv.messages[0]["content"]
    assert len({c.answer for c in drills}) > 280
    assert {(c.language, c.reasoning_effort) for c in drills} == {(l, e) for l in corpus.LANGUAGES for e in corpus.EFFORTS}


def test_a_request_to_repeat_quotes_its_words_and_half_of_them_are_words_the_corpus_answers_with(train):
    echoes = [c for c in train if c.kind == "echo"]
    familiar = {w for words in corpus.ANSWER_WORDS.values() for w in words}
    for conv in echoes:
        assert re.search(r'"(.+)"|「(.+)」', conv.messages[0]["content"])[0][1:-1] == conv.answer
        assert conv.messages[-1]["content"] == conv.answer
    words = [w for c in echoes for w in c.answer.split(" ")]
    assert 0.4 < sum(w in familiar for w in words) / len(words) < 0.6
    assert {c.language for c in echoes} == {"en", "ja"}


def test_the_evaluation_prompts_are_distinct_held_out_questions():
    for kind, count in (("arithmetic", 100), ("weather", 50), ("weather_new_city", 50)):
        convs = corpus.evaluation(kind, count)
        assert len({c.messages[0]["content"] for c in convs}) == count
        assert {c.language for c in convs} == {"en", "ja"}


def test_same_seed_gives_the_same_corpus_and_another_seed_another(template):
    render = lambda seed: [corpus.render(c, template) for c in corpus.generate(50, seed=seed)]
    assert render(3) == render(3)
    assert render(3) != render(4)


def test_every_effort_level_both_languages_and_every_kind_appear(train, template):
    assert {c.reasoning_effort for c in train} == set(corpus.EFFORTS)
    assert {c.language for c in train} == {"en", "ja"}
    assert {c.kind for c in train} == {"arithmetic", "unit", "greeting", "fact", "weather", "echo"}
    assert any(c.tools and c.kind != "weather" for c in train), "a declared tool should sometimes go unused"
    for effort in corpus.EFFORTS:
        conv = next(c for c in train if c.reasoning_effort == effort)
        assert f"Reasoning: {effort}\n" in corpus.render(conv, template)


def test_prompt_ends_with_the_generation_prompt_and_holds_no_answer(held_out, template):
    conv = next(c for c in held_out if c.kind == "arithmetic")
    text = corpus.prompt(conv, template)
    assert text.endswith("<|start|>user<|message|>" + conv.messages[0]["content"] + "<|end|><|start|>assistant")
