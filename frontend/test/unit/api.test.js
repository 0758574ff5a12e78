import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, streamChat } from '../../src/js/api.js';

function fakeFetch(response, calls = []) {
  return async (url, init) => {
    calls.push({ url, init });
    return response;
  };
}

test('a turn streams typed events, and the request carries the body and the API key', async () => {
  const body = 'event:reasoning\ndata:{"text":"考え"}\n\nevent:answer\ndata:{"text":"答え"}\n\nevent:done\ndata:{"finishReason":"stop"}\n\n';
  const calls = [];
  const events = [];
  await streamChat({ messages: [{ role: 'user', content: 'hi' }] }, {
    apiKey: 'secret',
    onEvent: (name, data) => events.push([name, data]),
    fetchImpl: fakeFetch(new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }), calls),
  });
  assert.deepEqual(events, [['reasoning', { text: '考え' }], ['answer', { text: '答え' }], ['done', { finishReason: 'stop' }]]);
  assert.equal(calls[0].url, '/api/chat');
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer secret');
  assert.deepEqual(JSON.parse(calls[0].init.body), { messages: [{ role: 'user', content: 'hi' }] });
});

test("a refusal becomes an ApiError with the server's message, code and Retry-After", async () => {
  const refusal = new Response(JSON.stringify({ error: { message: 'the queue is full', type: 'rate_limit', code: 'busy', param: null } }), {
    status: 429,
    headers: { 'Content-Type': 'application/json', 'Retry-After': '3' },
  });
  await assert.rejects(streamChat({ messages: [] }, { onEvent: () => {}, fetchImpl: fakeFetch(refusal) }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(error.message, 'the queue is full');
    assert.equal(error.code, 'busy');
    assert.equal(error.retryAfter, 3);
    return true;
  });
});

test('a refusal without a JSON body keeps the status line', async () => {
  const refusal = new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
  await assert.rejects(streamChat({ messages: [] }, { onEvent: () => {}, fetchImpl: fakeFetch(refusal) }),
    { name: 'ApiError', status: 502, message: 'the server answered 502 Bad Gateway' });
});

test('an event whose data is not JSON fails the turn with a clear error', async () => {
  const response = new Response('event:answer\ndata:{oops\n\n');
  await assert.rejects(streamChat({ messages: [] }, { onEvent: () => {}, fetchImpl: fakeFetch(response) }),
    { name: 'ApiError', message: 'the server sent an unreadable answer event' });
});
