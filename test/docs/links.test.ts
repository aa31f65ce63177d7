// Every relative link in README.md and docs/*.md (and the other documents the repository ships)
// points at a file inside the repository, and every #anchor at a heading of the file it names: a user
// who clones the project can follow all of them.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { REPO } from '../helpers/fixtures';

const DOCS = path.join(REPO, 'docs');
const documents = [
  'README.md', 'CHANGELOG.md', 'media/model/README.md', 'test/e2e/README.md',
  ...fs.readdirSync(DOCS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f)),
].filter((f) => fs.existsSync(path.join(REPO, f)));

/** Markdown links and images, `[text](target)` and `![alt](target "title")`, outside code. */
export function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, title] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = title.toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n ? `${slug}-${n}` : slug);
  }
  return anchors;
}

test('the link parser finds links and images but not code, and makes GitHub anchors', () => {
  assert.deepEqual(linksOf('see [a](docs/a.md#x) and ![i](img/p.png "t") `[no](no.md)`\n```\n[no](no.md)\n```'), ['docs/a.md#x', 'img/p.png']);
  assert.deepEqual([...anchorsOf('# The readout: which tokens\n## Cost\n## Cost')], ['the-readout-which-tokens', 'cost', 'cost-1']);
});

test('README.md and docs/ exist and link to docs/', () => {
  for (const doc of ['docs/method.md', 'docs/architecture.md', 'docs/schema.md']) assert.ok(documents.includes(doc), `${doc} is missing`);
  const readme = linksOf(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8'));
  for (const doc of ['docs/method.md', 'docs/architecture.md', 'docs/schema.md']) {
    assert.ok(readme.some((l) => l.split('#')[0] === doc), `README.md does not link to ${doc}`);
  }
});

for (const doc of documents) {
  test(`every relative link in ${doc} resolves inside the repository`, () => {
    const text = fs.readFileSync(path.join(REPO, doc), 'utf8');
    const broken: string[] = [];
    for (const link of linksOf(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:, vscode: ...
      const [file, anchor] = link.split('#') as [string, string | undefined];
      const target = file ? path.resolve(path.dirname(path.join(REPO, doc)), decodeURIComponent(file)) : path.join(REPO, doc);
      const rel = path.relative(REPO, target);
      if (rel.startsWith('..') || path.isAbsolute(rel)) { broken.push(`${link}: outside the repository`); continue; }
      if (!fs.existsSync(target)) { broken.push(`${link}: no such file`); continue; }
      if (anchor && target.endsWith('.md') && !anchorsOf(fs.readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${link}: no heading '#${anchor}' in ${rel}`);
      }
    }
    assert.deepEqual(broken, [], `${doc} has broken links`);
  });
}
