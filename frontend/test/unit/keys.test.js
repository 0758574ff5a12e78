import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEnterToSend } from '../../src/js/keys.js';

function key(overrides = {}) {
  return {
    key: 'Enter',
    shiftKey: false,
    altKey: false,
    ctrlKey: false,
    metaKey: false,
    isComposing: false,
    keyCode: 13,
    timeStamp: 10_000,
    prevented: false,
    preventDefault() {
      this.prevented = true;
    },
    ...overrides,
  };
}

function handlers() {
  const sent = [];
  return { keys: createEnterToSend(() => sent.push(true)), sent };
}

test('Enter sends and keeps its newline out of the text box', () => {
  const { keys, sent } = handlers();
  const event = key();
  assert.equal(keys.keydown(event), true);
  assert.equal(sent.length, 1);
  assert.equal(event.prevented, true);
});

test('Shift+Enter and other keys do not send', () => {
  const { keys, sent } = handlers();
  assert.equal(keys.keydown(key({ shiftKey: true })), false);
  assert.equal(keys.keydown(key({ key: 'a' })), false);
  assert.equal(sent.length, 0);
});

test('the Enter that confirms an IME conversion does not send, in any browser reporting', () => {
  const { keys, sent } = handlers();
  keys.compositionstart();
  assert.equal(keys.keydown(key({ timeStamp: 100 })), false, 'during a composition');
  keys.compositionend({ timeStamp: 200 });
  assert.equal(keys.keydown(key({ isComposing: true, timeStamp: 1000 })), false, 'isComposing');
  assert.equal(keys.keydown(key({ keyCode: 229, timeStamp: 1000 })), false, 'keyCode 229');
  assert.equal(keys.keydown(key({ timeStamp: 210 })), false, "Safari's keydown just after compositionend");
  assert.equal(sent.length, 0);
  assert.equal(keys.keydown(key({ timeStamp: 1000 })), true, 'a later Enter sends');
  assert.equal(sent.length, 1);
});
