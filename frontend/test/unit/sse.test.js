import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser, readSse } from '../../src/js/sse.js';

function parseAll(chunks) {
  const events = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) {
    parser.push(chunk);
  }
  parser.end();
  return events;
}

const STREAM =
  'event:reasoning\ndata:{"text":"a"}\n\n' +
  ': keep-alive comment\n\n' +
  'event: answer\ndata: {"text":"b"}\n\n' +
  'data:line one\ndata:line two\n\n' +
  'event:done\ndata:{"finishReason":"stop"}\n\n';

const EXPECTED = [
  { event: 'reasoning', data: '{"text":"a"}' },
  { event: 'answer', data: '{"text":"b"}' },
  { event: 'message', data: 'line one\nline two' },
  { event: 'done', data: '{"finishReason":"stop"}' },
];

test('events come out whole however the stream is cut into chunks', () => {
  assert.deepEqual(parseAll([STREAM]), EXPECTED);
  for (let cut = 1; cut < STREAM.length; cut++) {
    assert.deepEqual(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)]), EXPECTED, `cut at ${cut}`);
  }
  assert.deepEqual(parseAll([...STREAM]), EXPECTED, 'one character at a time');
});

test('CRLF and CR end lines as LF does, also when CRLF is split between chunks', () => {
  for (const eol of ['\r\n', '\r']) {
    const stream = STREAM.replaceAll('\n', eol);
    assert.deepEqual(parseAll([stream]), EXPECTED, JSON.stringify(eol));
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(parseAll([stream.slice(0, cut), stream.slice(cut)]), EXPECTED, `${JSON.stringify(eol)} cut at ${cut}`);
    }
  }
});

test('an event that the stream ends before its blank line is dropped, as the standard says', () => {
  assert.deepEqual(parseAll(['event:answer\ndata:{"text":"a"}\n\nevent:answer\ndata:{"text":"cut']), [
    { event: 'answer', data: '{"text":"a"}' },
  ]);
});

test('an event name applies to its own event only', () => {
  assert.deepEqual(parseAll(['event:usage\ndata:1\n\ndata:2\n\n']), [
    { event: 'usage', data: '1' },
    { event: 'message', data: '2' },
  ]);
});

test('readSse decodes UTF-8 split anywhere, even inside one Japanese character', async () => {
  const text = 'event:answer\ndata:{"text":"東京は晴れ"}\n\n';
  const bytes = new TextEncoder().encode(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    const events = [];
    await readSse(body, (event) => events.push(event));
    assert.deepEqual(events, [{ event: 'answer', data: '{"text":"東京は晴れ"}' }], `cut at byte ${cut}`);
  }
});
