// Shared set-up of the browser tests: Debian's Chromium driven by playwright-core, against the app
// that ../../browser-tests started (KOTODAMA_URL), one fresh browser context (own localStorage) per test.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { setTimeout } from 'node:timers/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.KOTODAMA_URL ?? 'http://localhost:8080';
export const SCREENSHOTS = process.env.KOTODAMA_SCREENSHOTS ?? path.resolve('..', 'target', 'screenshots');

// Without the background-networking flags Chromium keeps calling hosts that a closed network refuses.
const FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS });
}

/**
 * A page on the chat, ready: its module has run, in a browser context that closes when the test t ends.
 * Page errors and alert() dialogs are collected so that a test can assert that none happened.
 */
export async function openChat(t, browser, { viewport = { width: 1280, height: 800 }, colorScheme = 'light', baseURL = BASE_URL } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, baseURL });
  t.after(() => context.close());
  const page = await context.newPage();
  const problems = { errors: [], dialogs: [] };
  page.on('pageerror', (error) => problems.errors.push(error.message));
  page.on('dialog', async (dialog) => {
    problems.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await page.goto('/');
  await page.waitForSelector('html[data-ready="true"]');
  return { context, page, problems };
}

/**
 * A proxy in front of the app, closed when the test t ends, that passes everything through but sends the events of /api/chat one by
 * one, delayMs apart: a slow connection, so that a stream lasts long enough to be watched and stopped.
 * A client that goes away aborts the upstream request, as a real disconnect would.
 */
export async function slowProxy(t, delayMs) {
  const upstream = new URL(BASE_URL);
  const server = http.createServer((request, response) => {
    const forward = http.request({
      host: upstream.hostname,
      port: upstream.port,
      path: request.url,
      method: request.method,
      headers: request.headers,
    }, async (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      if (!request.url.startsWith('/api/chat') || answer.statusCode !== 200) {
        answer.pipe(response);
        return;
      }
      let pending = '';
      for await (const chunk of answer) {
        pending += chunk.toString('utf8');
        let end;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          response.write(pending.slice(0, end + 2));
          pending = pending.slice(end + 2);
          await setTimeout(delayMs);
          if (response.destroyed) {
            forward.destroy();
            return;
          }
        }
      }
      response.end(pending);
    });
    forward.on('error', () => response.destroy());
    response.on('close', () => forward.destroy());
    request.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return `http://127.0.0.1:${server.address().port}`;
}

export async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
}

/** Waits until the turn has ended (Send is back) and returns the last assistant message. */
export async function finished(page, timeout = 60_000) {
  await page.getByRole('button', { name: 'Send', exact: true }).waitFor({ state: 'visible', timeout });
  return page.locator('article.message.assistant').last();
}

export function screenshotPath(name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, name);
}
