import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addUserMessage,
  applyEvent,
  dropLastAssistant,
  editLastUserMessage,
  endAssistantMessage,
  isStreaming,
  newConversation,
  requestMessages,
  startAssistantMessage,
  titleOf,
} from '../../src/js/conversation.js';

function streamed(events, start = 1000) {
  const conversation = addUserMessage(newConversation('c1', start), '12 + 34 は？');
  const message = startAssistantMessage(conversation, start);
  for (const [name, data, at] of events) {
    applyEvent(message, name, data, at);
  }
  return { conversation, message };
}

test('a streamed turn keeps reasoning and answer apart and times the reasoning until the answer starts', () => {
  const { message } = streamed([
    ['reasoning', { text: '12 + 34 ' }, 1100],
    ['reasoning', { text: '= 46' }, 1500],
    ['answer', { text: '46 ' }, 3400],
    ['answer', { text: 'です。' }, 3500],
    ['usage', { promptTokens: 30, completionTokens: 12, ttftMs: 80, tokensPerSecond: 41.5 }, 3600],
    ['done', { finishReason: 'stop' }, 3600],
  ]);
  assert.equal(message.reasoning, '12 + 34 = 46');
  assert.equal(message.content, '46 です。');
  assert.equal(message.reasoningMs, 2400);
  assert.deepEqual(message.stats, { promptTokens: 30, completionTokens: 12, ttftMs: 80, tokensPerSecond: 41.5 });
  assert.equal(message.finishReason, 'stop');
  assert.equal(isStreaming(message), false);
});

test('a turn is streaming until done, error or stop', () => {
  const { message } = streamed([['reasoning', { text: 'x' }, 1100]]);
  assert.equal(isStreaming(message), true);
  assert.equal(message.reasoningMs, null, 'still thinking');
  endAssistantMessage(message, 2000, { stopped: true });
  assert.equal(isStreaming(message), false);
  assert.equal(message.finishReason, 'stopped');
  assert.equal(message.reasoningMs, 1000, 'stopping ends the thinking time');
});

test('stopping keeps the partial answer, and the next request sends it', () => {
  const { conversation, message } = streamed([['answer', { text: '途中まで' }, 1100]]);
  endAssistantMessage(message, 1200, { stopped: true });
  assert.equal(message.content, '途中まで');
  assert.deepEqual(requestMessages(conversation), [
    { role: 'user', content: '12 + 34 は？' },
    { role: 'assistant', content: '途中まで' },
  ]);
});

test('an error event keeps what came before it', () => {
  const { message } = streamed([
    ['answer', { text: 'part' }, 1100],
    ['error', { code: 'engine_error', message: 'sampling failed' }, 1200],
  ]);
  assert.equal(message.content, 'part');
  assert.deepEqual(message.error, { code: 'engine_error', message: 'sampling failed' });
  assert.equal(isStreaming(message), false);
});

test('tool calls are collected in order', () => {
  const { message } = streamed([
    ['tool_call', { id: 'a', name: 'get_weather', arguments: '{"city":"東京"}' }, 1100],
    ['done', { finishReason: 'tool_calls' }, 1200],
  ]);
  assert.deepEqual(message.toolCalls, [{ id: 'a', name: 'get_weather', arguments: '{"city":"東京"}' }]);
});

test('the request carries user messages and earlier answers, not empty turns or reasoning', () => {
  const { conversation, message } = streamed([
    ['reasoning', { text: 'secret' }, 1100],
    ['answer', { text: '46' }, 1200],
    ['done', { finishReason: 'stop' }, 1300],
  ]);
  addUserMessage(conversation, 'ありがとう');
  startAssistantMessage(conversation, 2000);
  assert.deepEqual(requestMessages(conversation), [
    { role: 'user', content: '12 + 34 は？' },
    { role: 'assistant', content: '46' },
    { role: 'user', content: 'ありがとう' },
  ]);
  assert.equal(message.reasoning, 'secret');
});

test('regenerate drops only the last assistant turn', () => {
  const { conversation } = streamed([['answer', { text: '46' }, 1100], ['done', { finishReason: 'stop' }, 1200]]);
  dropLastAssistant(conversation);
  assert.deepEqual(conversation.messages.map((m) => m.role), ['user']);
  dropLastAssistant(conversation);
  assert.deepEqual(conversation.messages.map((m) => m.role), ['user'], 'a user message is never dropped');
});

test('editing the last user message drops what followed it and renames a one-question chat', () => {
  const { conversation } = streamed([['answer', { text: '46' }, 1100], ['done', { finishReason: 'stop' }, 1200]]);
  editLastUserMessage(conversation, '12 × 3 は？');
  assert.deepEqual(conversation.messages, [{ role: 'user', content: '12 × 3 は？' }]);
  assert.equal(conversation.title, '12 × 3 は？');
  assert.throws(() => editLastUserMessage(newConversation('c2', 0), 'x'), /no user message/);
});

test('titles are the first line, shortened', () => {
  assert.equal(titleOf('  東京の天気は？\n詳しく  '), '東京の天気は？');
  const long = 'あ'.repeat(100);
  assert.equal(titleOf(long).length, 48);
  assert.ok(titleOf(long).endsWith('…'));
  const conversation = addUserMessage(newConversation('c3', 0), 'first');
  addUserMessage(conversation, 'second');
  assert.equal(conversation.title, 'first', 'the title stays with the first message');
});
