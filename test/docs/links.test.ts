// Every link in the README and docs/ resolves: a relative link names a file of the repository,
// an anchor names a heading of its page (by GitHub's rules for heading anchors), and an
// external link is a well-formed http(s) URL (not fetched: the tests have no internet).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocks, docPages, githubSlug, headingAnchors, links, renderedText, uniqueSlug } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';

/** Every link of `page` that does not resolve, as "page:line: target: why". */
function brokenLinks(page: string, text: string, read: (path: string) => string | undefined = readRepoFile): string[] {
  const problems: string[] = [];
  for (const block of blocks(text)) {
    if (block.kind === 'code') continue;
    for (const link of links(block.text)) {
      const line = block.line + block.text.slice(0, link.index).split('\n').length - 1;
      const why = whyBroken(page, text, link.target, read);
      if (why) problems.push(`${page}:${line}: ${link.target}: ${why}`);
    }
  }
  return problems;
}

function readRepoFile(path: string): string | undefined {
  const full = join(ROOT, path);
  if (!existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? '' : readFileSync(full, 'utf8');
}

function whyBroken(page: string, text: string, target: string, read: (path: string) => string | undefined): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return externalProblem(target);
  const [path, anchor, extra] = target.split('#');
  if (extra !== undefined) return 'more than one "#"';
  let linked = text;
  if (path) {
    const repoPath = relative(ROOT, resolve(ROOT, dirname(page), decodeURI(path)));
    if (repoPath.startsWith('..')) return 'points outside the repository';
    const content = read(repoPath);
    if (content === undefined) return `${repoPath} does not exist`;
    if (anchor === undefined) return undefined;
    if (!repoPath.endsWith('.md')) return `an anchor into ${repoPath}, which has no headings`;
    linked = content;
  }
  if (anchor === undefined || headingAnchors(linked).includes(decodeURIComponent(anchor))) return undefined;
  return `no heading has the anchor #${anchor}`;
}

/** Why an absolute link is not a well-formed http(s) URL, or undefined. */
function externalProblem(target: string): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `a ${url.protocol} link; only http(s) links are allowed`;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(url.hostname)) return `the host "${url.hostname}" is not a domain name`;
  if (url.username || url.password) return 'carries credentials';
  if (/\s/.test(target)) return 'has white space in it';
  return undefined;
}

describe('links in the README and docs/', () => {
  it('every relative link names a file, every anchor a heading, every external link is a well-formed URL', () => {
    const all = docPages(ROOT);
    expect(all.length).toBeGreaterThan(5);
    let checked = 0;
    const problems: string[] = [];
    for (const page of all) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      checked += blocks(text).flatMap((b) => (b.kind === 'code' ? [] : links(b.text))).length;
      problems.push(...brokenLinks(page, text));
    }
    expect(problems).toEqual([]);
    // Not vacuous: the pages link to each other and into their sections.
    expect(checked).toBeGreaterThan(50);
  });

  it('the controls: a broken anchor, a missing file, a bad URL and a link out of the repository are caught', () => {
    const page = 'docs/example.md';
    const text = [
      '# Example page',
      '',
      '## The `publish` command',
      '',
      'See [ok](#the-publish-command), [ok too](config.md#keys), [broken](#the-publish-commands),',
      '[missing](nowhere.md), [bad anchor](config.md#no-such-key), [outside](../../etc/passwd),',
      '[not http](ftp://example.com/x), [no host](https://localhost/x), a bare https://exa mple.com/ and `[code](#not-a-link)`.',
    ].join('\n');
    expect(brokenLinks(page, text)).toEqual([
      'docs/example.md:5: #the-publish-commands: no heading has the anchor #the-publish-commands',
      'docs/example.md:6: nowhere.md: docs/nowhere.md does not exist',
      'docs/example.md:6: config.md#no-such-key: no heading has the anchor #no-such-key',
      'docs/example.md:6: ../../etc/passwd: points outside the repository',
      'docs/example.md:7: ftp://example.com/x: a ftp: link; only http(s) links are allowed',
      'docs/example.md:7: https://localhost/x: the host "localhost" is not a domain name',
      'docs/example.md:7: https://exa: the host "exa" is not a domain name',
    ]);
  });

  it("computes anchors by GitHub's rules (cases from github-slugger's fixtures)", () => {
    // SOURCE: Flet/github-slugger test/fixtures.json (the module that emulates GitHub's anchors).
    const seen = new Map<string, number>();
    const slug = (text: string) => uniqueSlug(githubSlug(text), seen);
    expect(['echo', 'echo', 'echo 1', 'echo-1', 'echo'].map(slug)).toEqual(['echo', 'echo-1', 'echo-1-1', 'echo-1-2', 'echo-2']);
    expect(githubSlug('heading with a - dash')).toBe('heading-with-a---dash');
    expect(githubSlug('heading with an _ underscore')).toBe('heading-with-an-_-underscore');
    expect(githubSlug('exchange.bind_headers(exchange, routing [, bindCallback])')).toBe('exchangebind_headersexchange-routing--bindcallback');
    expect(githubSlug('apostrophe’s should be trimmed')).toBe('apostrophes-should-be-trimmed');
    expect(githubSlug('I ♥ unicode')).toBe('i--unicode');
    expect(githubSlug('en–dash')).toBe('endash');
    expect(githubSlug('Привет non-latin 你好')).toBe('привет-non-latin-你好');
    // Markup is not text: code spans keep their content, links their text.
    expect(githubSlug(renderedText("`npm run create-vm`: **the** [VM](x.md)'s *flags*"))).toBe('npm-run-create-vm-the-vms-flags');
  });
});
