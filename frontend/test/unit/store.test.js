import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addUserMessage, newConversation } from '../../src/js/conversation.js';
import { createStore, StorageFullError } from '../../src/js/store.js';

class MemoryStorage {
  constructor(limit = Infinity) {
    this.items = new Map();
    this.limit = limit;
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    if (value.length > this.limit) {
      const error = new Error('quota');
      error.name = 'QuotaExceededError';
      throw error;
    }
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

test('saved conversations come back, the most recent first, and a new store reads them', () => {
  const storage = new MemoryStorage();
  const store = createStore(storage);
  store.save(addUserMessage(newConversation('a', 0), 'older'), 100);
  store.save(addUserMessage(newConversation('b', 0), 'newer'), 200);
  store.save(newConversation('empty', 0), 300);
  assert.deepEqual(store.list().map((c) => c.id), ['b', 'a'], 'empty conversations are not listed');

  const reloaded = createStore(storage);
  assert.equal(reloaded.get('a').messages[0].content, 'older');
  assert.equal(reloaded.get('a').updatedAt, 100);
  reloaded.remove('b');
  assert.deepEqual(reloaded.list().map((c) => c.id), ['a']);
  assert.equal(reloaded.get('b'), null);
});

test('the current conversation is remembered', () => {
  const storage = new MemoryStorage();
  createStore(storage).setCurrentId('a');
  assert.equal(createStore(storage).currentId(), 'a');
});

test('unreadable stored data starts afresh instead of failing', () => {
  const storage = new MemoryStorage();
  storage.setItem('kotodama.conversations.v1', '{not json');
  storage.setItem('kotodama.settings.v1', '[1,2');
  const store = createStore(storage);
  assert.deepEqual(store.list(), []);
  assert.deepEqual(store.settings({ effort: 'medium' }), { effort: 'medium' });
  store.save(addUserMessage(newConversation('a', 0), 'hello'), 1);
  assert.deepEqual(store.list().map((c) => c.id), ['a']);
});

test('settings keep the defaults for what was never set', () => {
  const store = createStore(new MemoryStorage());
  store.saveSettings({ temperature: '0.2' });
  assert.deepEqual(store.settings({ effort: 'medium', temperature: '' }), { effort: 'medium', temperature: '0.2' });
});

test('a full storage is a StorageFullError that says what to do', () => {
  const store = createStore(new MemoryStorage(200));
  assert.throws(() => store.save(addUserMessage(newConversation('a', 0), 'x'.repeat(500)), 1), (error) => {
    assert.ok(error instanceof StorageFullError);
    assert.match(error.message, /delete some conversations/);
    return true;
  });
});
