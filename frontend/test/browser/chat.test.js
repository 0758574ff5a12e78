// The chat page in headless Chromium against the running app and its demo model.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { finished, launch, openChat, screenshotPath, send, slowProxy } from './support.js';

const QUESTION = '23 + 45 は？';
const STATS = /^TTFT \d+ ms · \d+\.\d tok\/s · \d+ tokens/;

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Records, from inside the page, what the last assistant message looked like at each change. */
async function watchTurn(page) {
  await page.evaluate(() => {
    window.frames_ = [];
    new MutationObserver(() => {
      const article = [...document.querySelectorAll('article.message.assistant')].at(-1);
      if (!article) {
        return;
      }
      const details = article.querySelector('details.reasoning');
      window.frames_.push({
        reasoning: details.querySelector('.reasoning-text').textContent.length,
        open: details.open,
        summary: details.querySelector('summary').textContent,
        answer: article.querySelector('.answer').textContent.length,
        live: article.querySelector('.answer').getAttribute('aria-live'),
      });
    }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

test('a message streams its reasoning in an open panel that collapses when the answer starts, then the stats', async (t) => {
  const { page, problems } = await openChat(t, browser, { baseURL: await slowProxy(t, 25) });
  await watchTurn(page);
  await send(page, QUESTION);
  const answer = await finished(page);

  const frames = await page.evaluate(() => window.frames_);
  const thinking = frames.filter((f) => f.reasoning > 0 && f.answer === 0);
  assert.ok(thinking.length >= 2, `the reasoning streamed before the answer (${thinking.length} frames)`);
  assert.ok(thinking.every((f) => f.open && f.summary === 'Thinking…'), 'the panel is open while the model thinks');
  const answering = frames.filter((f) => f.answer > 0);
  assert.ok(new Set(answering.map((f) => f.answer)).size >= 2, 'the answer arrived in pieces');
  assert.ok(answering.every((f) => !f.open && /^Thought for \d+(\.\d)? s$/.test(f.summary)), 'the panel collapsed when the answer began');
  assert.ok(frames.some((f) => f.answer > 0 && f.live === 'polite'), 'the streaming answer is an aria-live region');

  await assert.doesNotReject(answer.locator('.stats').filter({ hasText: STATS }).waitFor());
  const reasoning = answer.locator('details.reasoning');
  assert.equal(await reasoning.evaluate((d) => d.open), false);
  await reasoning.locator('summary').click();
  assert.equal(await reasoning.evaluate((d) => d.open), true, 'a click reopens the reasoning');
  assert.ok((await reasoning.locator('.reasoning-text').textContent()).length > 0);
  assert.deepEqual(problems, { errors: [], dialogs: [] });
});

test('Stop keeps the partial answer, and the conversation survives a reload', async (t) => {
  const { page } = await openChat(t, browser, { baseURL: await slowProxy(t, 150) });
  await send(page, QUESTION);
  const answer = page.locator('article.message.assistant .answer').last();
  await page.waitForFunction(() => {
    const node = [...document.querySelectorAll('article.message.assistant .answer')].at(-1);
    return node && node.textContent.length > 0;
  }, null, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  const article = await finished(page, 5_000);
  const partial = await answer.textContent();
  assert.ok(partial.length > 0);
  await assert.doesNotReject(article.locator('.stats').filter({ hasText: /stopped$/ }).waitFor());
  await page.waitForTimeout(1_000);
  assert.equal(await answer.textContent(), partial, 'nothing arrives after Stop');

  await page.reload();
  await page.waitForSelector('html[data-ready="true"]');
  assert.equal(await page.locator('article.message.user .bubble').textContent(), QUESTION);
  assert.equal(await page.locator('article.message.assistant .answer').textContent(), partial);
  await assert.doesNotReject(page.getByRole('button', { name: QUESTION, exact: true }).waitFor(), 'the conversation is listed');

  await page.getByRole('button', { name: 'New chat' }).click();
  assert.equal(await page.locator('article.message').count(), 0);
  await page.getByRole('button', { name: QUESTION, exact: true }).click();
  assert.equal(await page.locator('article.message').count(), 2, 'the listed conversation opens again');
});

test('opening another conversation mid-stream stops the answer and keeps its part in its own conversation', async (t) => {
  const { page } = await openChat(t, browser, { baseURL: await slowProxy(t, 150) });
  await send(page, 'first question');
  await page.waitForFunction(() => [...document.querySelectorAll('article.message.assistant .reasoning-text')]
    .some((node) => node.textContent.length > 0), null, { timeout: 60_000 });
  await page.getByRole('button', { name: 'New chat' }).click();
  assert.equal(await page.locator('article.message').count(), 0);
  await finished(page, 5_000);

  await page.getByRole('button', { name: 'first question', exact: true }).click();
  const article = page.locator('article.message.assistant');
  assert.ok((await article.locator('.reasoning-text').textContent()).length > 0, 'the partial reasoning was kept');
  await assert.doesNotReject(article.locator('.stats').filter({ hasText: /stopped$/ }).waitFor());
  await page.reload();
  await page.waitForSelector('html[data-ready="true"]');
  await page.getByRole('button', { name: 'first question', exact: true }).click();
  assert.ok((await page.locator('article.message.assistant .reasoning-text').textContent()).length > 0,
    'and it is stored');
});

test('Regenerate replaces the last answer, and editing the last question resends it', async (t) => {
  const { page } = await openChat(t, browser);
  await send(page, QUESTION);
  const first = await finished(page);
  await first.evaluate((node) => {
    node.dataset.first = 'true';
  });
  await page.getByRole('button', { name: 'Generate this answer again' }).click();
  const second = await finished(page);
  assert.equal(await page.locator('article.message.assistant').count(), 1);
  assert.equal(await page.locator('article[data-first]').count(), 0, 'the old answer is gone');
  assert.ok((await second.locator('.answer').textContent()).length > 0);
  await assert.doesNotReject(second.locator('.stats').filter({ hasText: STATS }).waitFor());

  await page.getByRole('button', { name: 'Edit and resend this message' }).click();
  const edit = page.getByLabel('Edit your message');
  await edit.fill('12 + 34 は？');
  await edit.press('Enter');
  const third = await finished(page);
  assert.deepEqual(await page.locator('article.message.user .bubble').allTextContents(), ['12 + 34 は？']);
  assert.equal(await page.locator('article.message.assistant').count(), 1);
  assert.ok((await third.locator('.answer').textContent()).length > 0);
});

test('Japanese input: Enter in an IME composition does not send, Shift+Enter adds a line, Enter sends', async (t) => {
  const { page } = await openChat(t, browser);
  const box = page.getByLabel('Message', { exact: true });
  await box.fill('とうきょう');
  await box.dispatchEvent('compositionstart', { data: '' });
  await box.press('Enter');
  assert.equal(await page.locator('article.message').count(), 0, 'the Enter that confirms a conversion does not send');
  await box.fill('東京の天気は？');
  await box.dispatchEvent('compositionend', { data: '東京' });
  await page.waitForTimeout(200);
  await box.press('Shift+Enter');
  assert.equal(await box.inputValue(), '東京の天気は？\n');
  assert.equal(await page.locator('article.message').count(), 0);
  await box.press('Enter');
  await finished(page);
  assert.equal(await page.locator('article.message.user .bubble').textContent(), '東京の天気は？');
  assert.equal(await box.inputValue(), '');
});

test('an answer with an <img onerror> and a javascript: link renders inert', async (t) => {
  const { page, problems } = await openChat(t, browser);
  const answer = 'Look: <img src=x onerror="document.title=\'pwned\';alert(1)"> and [click me](javascript:alert(2)) '
    + 'and <a href="javascript:alert(3)">this</a>\n\n```js\nconsole.log("<b>ok</b>")\n```';
  await page.route('**/api/chat', (route) => route.fulfill({
    status: 200,
    contentType: 'text/event-stream',
    body: `event:answer\ndata:${JSON.stringify({ text: answer })}\n\n`
      + 'event:usage\ndata:{"promptTokens":5,"completionTokens":9,"ttftMs":3,"tokensPerSecond":50.0}\n\n'
      + 'event:done\ndata:{"finishReason":"stop"}\n\n',
  }));
  await send(page, 'show me markdown');
  const article = await finished(page);
  const rendered = article.locator('.answer');
  await rendered.locator('img').waitFor({ state: 'attached' });
  assert.equal(await rendered.locator('img').getAttribute('onerror'), null);
  assert.equal(await rendered.locator('a[href^="javascript" i]').count(), 0);
  for (const link of await rendered.locator('a').all()) {
    await link.click();
  }
  assert.equal(await rendered.locator('pre code').textContent(), 'console.log("<b>ok</b>")');
  await page.waitForTimeout(300);
  assert.notEqual(await page.title(), 'pwned');
  assert.deepEqual(problems, { errors: [], dialogs: [] });
});

test('a refused request shows its error inline, and Retry answers', async (t) => {
  const { page } = await openChat(t, browser);
  let refused = false;
  await page.route('**/api/chat', async (route) => {
    if (refused) {
      await route.continue();
      return;
    }
    refused = true;
    await route.fulfill({
      status: 429,
      headers: { 'Retry-After': '1' },
      contentType: 'application/json',
      body: JSON.stringify({ error: { message: 'the queue is full', type: 'rate_limit_error', param: null, code: 'busy' } }),
    });
  });
  await send(page, QUESTION);
  const article = await finished(page);
  await assert.doesNotReject(article.getByRole('alert').filter({ hasText: 'The server is busy: the queue is full. Try again in 1 s.' }).waitFor());
  await article.getByRole('button', { name: 'Retry this answer' }).click();
  const retried = await finished(page);
  assert.ok((await retried.locator('.answer').textContent()).length > 0);
  assert.equal(await retried.getByRole('alert').count(), 0);
});

test('the page names the demo model, labels every control, and settings change the request', async (t) => {
  const { page } = await openChat(t, browser);
  await assert.doesNotReject(page.getByText('demo model', { exact: true }).waitFor());
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((control) => !control.closest('[hidden]') && !(control.labels?.length || control.getAttribute('aria-label')
      || control.textContent.trim()))
    .map((control) => control.outerHTML));
  assert.deepEqual(unlabelled, []);

  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByLabel('Temperature').fill('0');
  await page.getByLabel('Max tokens').fill('7');
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByLabel('Reasoning').selectOption('high');
  const request = page.waitForRequest('**/api/chat');
  await send(page, QUESTION);
  const body = JSON.parse((await request).postData());
  assert.deepEqual(body.options, { reasoningEffort: 'high', temperature: 0, maxTokens: 7 });
  const article = await finished(page);
  await assert.doesNotReject(article.locator('.stats').filter({ hasText: /7 tokens · cut at the token limit$/ }).waitFor());
});

test('screenshots: desktop and 360 px, light and dark; at 360 px nothing scrolls sideways', async (t) => {
  for (const colorScheme of ['light', 'dark']) {
    for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['mobile', { width: 360, height: 740 }]]) {
      const { page } = await openChat(t, browser, { viewport, colorScheme });
      await send(page, QUESTION);
      await finished(page);
      const answer = page.locator('article.message.assistant').last();
      await answer.locator('summary').click();
      if (name === 'mobile') {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 360 px screen`);
        const sidebar = await page.locator('#sidebar').boundingBox();
        assert.ok(sidebar.x + sidebar.width <= 0, 'the conversation list is tucked away');
      }
      await page.screenshot({ path: screenshotPath(`chat-${name}-${colorScheme}.png`) });
    }
  }
});
