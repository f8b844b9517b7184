// The documentation holds together: every relative link in README.md, CHANGELOG.md and docs/*.md
// reaches a file that exists (and, for `file.md#anchor`, a heading of that file, slugged as
// GitHub does), README.md stays a landing page (at most 220 lines) linking every docs/ file, and
// docs/configuration.md has a row for every environment variable.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeEnv } from '../packages/shared/src/config.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README_MAX_LINES = 220;

const docs = (): string[] => [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The text outside fenced code blocks, line by line (a `# comment` in a sh block is no heading). */
function proseLines(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) out.push(line);
  }
  return out;
}

/** GitHub's anchor for a heading's text: markup dropped, lower case, punctuation removed, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_]{1,2}([^*_]+)[*_]{1,2}/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a Markdown file offers, with GitHub's -1, -2 suffixes for repeated headings. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1] ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of the inline links and images outside code, as written. */
function links(markdown: string): string[] {
  const text = proseLines(markdown)
    .join('\n')
    .replace(/`[^`\n]*`/g, 'code');
  return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
}

const external = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** What is wrong with one relative link of `from` (a path from the root), or undefined. */
function brokenLink(from: string, target: string, readFile: (file: string) => string = read): string | undefined {
  const [path = '', anchor] = target.split('#', 2);
  const file = path === '' ? from : relative(root, resolve(root, dirname(from), decodeURIComponent(path)));
  if (file.startsWith('..')) return `${target}: outside the repository`;
  if (!existsSync(join(root, file))) return `${target}: no file ${file}`;
  if (anchor === undefined || anchor === '' || !file.endsWith('.md')) return undefined;
  return anchors(readFile(file)).has(anchor) ? undefined : `${target}: no heading #${anchor} in ${file}`;
}

function brokenLinks(file: string): string[] {
  return links(read(file))
    .filter((t) => !external(t))
    .map((t) => brokenLink(file, t))
    .filter((p): p is string => p !== undefined)
    .map((p) => `${file}: ${p}`);
}

describe('slug and anchors', () => {
  it('slug headings as GitHub does', () => {
    expect(slug('Quick start (two commands)')).toBe('quick-start-two-commands');
    expect(slug('Deploy with kustomize (`deploy/`)')).toBe('deploy-with-kustomize-deploy');
    expect(slug('Redis (the queue)')).toBe('redis-the-queue');
    expect(slug('A page per CriticalService')).toBe('a-page-per-criticalservice');
    expect([...anchors('# A\n## A\n```sh\n# not a heading\n```\n### B.c')]).toEqual(['a', 'a-1', 'bc']);
  });
  it('find links outside code only', () => {
    expect(links('[a](x.md#y) `[b](no.md)` ![i](img.png)\n```\n[c](no.md)\n```\n<https://e.org>')).toEqual([
      'x.md#y',
      'img.png',
    ]);
  });
  it('report a missing file and a missing heading', () => {
    expect(brokenLink('README.md', 'docs/none.md')).toMatch(/no file docs\/none\.md/);
    expect(brokenLink('README.md', 'docs/concepts.md#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('docs/install.md', '../CHANGELOG.md')).toBeUndefined();
  });
});

describe('the documentation', () => {
  it('has no broken relative link or anchor', () => {
    expect(docs().flatMap(brokenLinks)).toEqual([]);
  });
  it(`keeps README.md a landing page of at most ${README_MAX_LINES} lines`, () => {
    const readme = read('README.md');
    expect(readme.replace(/\n$/, '').split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
  });
  it('links every docs/ file from README.md', () => {
    const linked = new Set(links(read('README.md')).map((t) => t.split('#')[0]));
    expect(docs().filter((f) => f.startsWith('docs/') && !linked.has(f))).toEqual([]);
  });
  it('has a row in docs/configuration.md for every environment variable', () => {
    const configuration = read('docs/configuration.md');
    expect(describeEnv().filter((r) => !configuration.includes(`| \`${r.name}\` |`))).toEqual([]);
  });
});
