"""The official `openai` Python SDK against a running Kotodama app: what an existing client sees.

    export/kotodama-export --python export/tests/clients/openai_sdk.py http://localhost:PORT/v1

Run by the Java test OpenAiClientsIT against the demo model. Prints one JSON line: what each call
returned (answer, reasoning, finish reason, usage, tool call, error), for the Java side to assert.
"""

from __future__ import annotations

import json
import sys

import openai

QUESTION = [{"role": "user", "content": "What is 23 + 45?"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city name, e.g. Tokyo"}},
                   "required": ["city"]}}}


def main(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)
    report: dict = {"models": [m.id for m in client.models.list()]}

    whole = client.chat.completions.create(model=report["models"][0], messages=QUESTION, temperature=0)
    message = whole.choices[0].message
    report["whole"] = {"answer": message.content, "reasoning_content": getattr(message, "reasoning_content", None),
                       "reasoning": getattr(message, "reasoning", None), "finish_reason": whole.choices[0].finish_reason,
                       "usage": whole.usage.model_dump() if whole.usage else None}

    answer, reasoning, finish, usage, chunks = "", "", None, None, 0
    with client.chat.completions.create(model=report["models"][0], messages=QUESTION, temperature=0, stream=True,
                                        stream_options={"include_usage": True}, reasoning_effort="high") as stream:
        for chunk in stream:
            chunks += 1
            usage = chunk.usage.model_dump() if chunk.usage else usage
            for choice in chunk.choices:
                answer += choice.delta.content or ""
                reasoning += getattr(choice.delta, "reasoning_content", None) or ""
                finish = choice.finish_reason or finish
    report["stream"] = {"answer": answer, "reasoning_content": reasoning, "finish_reason": finish, "usage": usage,
                        "chunks": chunks}

    called = client.chat.completions.create(model=report["models"][0], temperature=0, tools=[WEATHER],
                                            messages=[{"role": "user", "content": "東京の天気は？"}])
    call = called.choices[0].message.tool_calls[0]
    report["tool_call"] = {"finish_reason": called.choices[0].finish_reason, "name": call.function.name,
                           "arguments": json.loads(call.function.arguments)}
    followed = client.chat.completions.create(model=report["models"][0], temperature=0, tools=[WEATHER], messages=[
        {"role": "user", "content": "東京の天気は？"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id,
         "content": json.dumps({"city": "東京", "condition": "sunny", "temperature_c": 21}, ensure_ascii=False)}])
    report["tool_result"] = {"answer": followed.choices[0].message.content,
                             "finish_reason": followed.choices[0].finish_reason}

    scored = client.chat.completions.create(model=report["models"][0], messages=QUESTION, temperature=0, logprobs=True,
                                            top_logprobs=3)
    tokens = scored.choices[0].logprobs.content
    report["logprobs"] = {"answer": scored.choices[0].message.content, "joined": "".join(t.token for t in tokens),
                          "joined_bytes": bytes(b for t in tokens for b in t.bytes).decode("utf-8"),
                          "logprobs": [t.logprob for t in tokens],
                          "top": [[(o.token, o.logprob) for o in t.top_logprobs] for t in tokens]}
    streamed = []
    with client.chat.completions.create(model=report["models"][0], messages=QUESTION, temperature=0, logprobs=True,
                                        stream=True) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                streamed += [t.logprob for t in (choice.logprobs.content if choice.logprobs else None) or []]
    report["logprobs"]["streamed"] = streamed

    repeat = [{"role": "user", "content": "Repeat the word apple five times."}]

    def said(penalty: dict) -> str:  # both channels: a model may repeat itself in its reasoning and never answer
        message = client.chat.completions.create(model=report["models"][0], messages=repeat, temperature=0,
                                                 max_tokens=200, **penalty).choices[0].message
        return f"{getattr(message, 'reasoning_content', None) or ''}\n{message.content or ''}"

    report["penalties"] = {name: said(penalty) for name, penalty in
                           (("none", {}), ("frequency", {"frequency_penalty": 2}), ("presence", {"presence_penalty": 2}))}

    try:
        client.chat.completions.create(model=report["models"][0], messages=QUESTION, max_tokens=0)
        report["error"] = None
    except openai.BadRequestError as e:
        report["error"] = {"status": e.status_code, "code": e.code, "param": e.param, "message": e.message}
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: openai_sdk.py BASE_URL")
    main(sys.argv[1])
