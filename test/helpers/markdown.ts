// Just enough of GitHub-flavoured Markdown for the docs tests (test/docs/): the blocks of a page
// (headings, paragraphs, list items, table rows, fenced code), the code spans in a block, the
// links outside code, and the anchors GitHub gives headings. Not a renderer: what the docs
// write, nothing more (no setext headings, no reference links, no HTML blocks).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The pages a reader starts from: the README and docs/*.md, as paths from the repository root. */
export function docPages(root: string): string[] {
  return ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

export interface Block {
  kind: 'heading' | 'paragraph' | 'list-item' | 'table-row' | 'code';
  /** The block's text; a code block's content, its fences left out. */
  text: string;
  /** 1-based line of the block's first line of text. */
  line: number;
  /** Heading level 1–6. */
  level?: number;
  /** A fenced code block's info string, e.g. "sh". */
  lang?: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;
const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

export function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  let open: Block | undefined;
  const close = () => {
    if (open) out.push(open);
    open = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      close();
      const marker = fence[1]!;
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j]!.trimStart().startsWith(marker[0]!.repeat(marker.length)) && lines[j]!.trim().replace(/[`~]/g, '') === '')) body.push(lines[j++]!);
      out.push({ kind: 'code', text: body.join('\n'), line: i + 2, lang: fence[2] || undefined });
      i = j;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      close();
      out.push({ kind: 'heading', text: heading[2]!, line: i + 1, level: heading[1]!.length });
      continue;
    }
    if (line.trim() === '') {
      close();
      continue;
    }
    if (line.trimStart().startsWith('|')) {
      close();
      if (!TABLE_DELIMITER.test(line)) out.push({ kind: 'table-row', text: line, line: i + 1 });
      continue;
    }
    if (LIST_ITEM.test(line)) {
      close();
      open = { kind: 'list-item', text: line.replace(LIST_ITEM, ''), line: i + 1 };
      continue;
    }
    if (open) open.text += `\n${line.trim()}`;
    else open = { kind: 'paragraph', text: line.trim(), line: i + 1 };
  }
  close();
  return out;
}

export interface Span {
  /** The code span's content, line breaks as spaces (as GitHub renders it). */
  code: string;
  /** Where it starts and ends (after the closing backticks) in the block's text. */
  index: number;
  end: number;
}

/** The code spans of a block's text, in order; `prose` is the text with each span blanked out. */
export function codeSpans(text: string): { spans: Span[]; prose: string } {
  const spans: Span[] = [];
  let prose = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\\' && text[i + 1] === '`') {
      prose += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (text[i] !== '`') {
      prose += text[i++];
      continue;
    }
    const run = /^`+/.exec(text.slice(i))![0];
    // The closing run has the same length and is not part of a longer run.
    const closing = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
    closing.lastIndex = i + run.length;
    const end = closing.exec(text);
    if (!end) {
      prose += run;
      i += run.length;
      continue;
    }
    let code = text.slice(i + run.length, end.index).replace(/\n/g, ' ');
    if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
    spans.push({ code, index: i, end: end.index + run.length });
    prose += ' '.repeat(end.index + run.length - i);
    i = end.index + run.length;
  }
  return { spans, prose };
}

export interface Link {
  target: string;
  /** Where it is in the block's text. */
  index: number;
}

/**
 * The links of a block, outside code spans: inline links and images, `<…>` autolinks, and the
 * bare http(s) URLs GitHub links by itself.
 */
export function links(text: string): Link[] {
  const { prose } = codeSpans(text);
  const found: Link[] = [];
  for (const m of prose.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)/g)) {
    found.push({ target: m[1]!.replace(/^<|>$/g, ''), index: m.index });
  }
  for (const m of prose.matchAll(/<((?:https?|mailto):[^>\s]*)>/g)) found.push({ target: m[1]!, index: m.index });
  const inLink = (i: number) => found.some((l) => i >= l.index && i < prose.indexOf(')', l.index) + 1);
  for (const m of prose.matchAll(/(?<![(<\w])https?:\/\/[^\s<>)\]]*[^\s<>)\].,;:!?'"]/g)) {
    if (!inLink(m.index)) found.push({ target: m[0], index: m.index });
  }
  return found.sort((a, b) => a.index - b.index);
}

/**
 * The anchors GitHub gives a page's headings. The rules (html-pipeline's TableOfContentsFilter,
 * gjtorikian/html-pipeline lib/html/pipeline/toc_filter.rb; Flet/github-slugger index.js and
 * test/fixtures.json): the heading's rendered text, lower-cased; every character that is not a
 * letter, mark, number, connector punctuation ("_"), "-" or a space removed; each space a "-";
 * a repeated slug gets "-1", "-2", … in order.
 */
export function headingAnchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  return blocks(markdown)
    .filter((b) => b.kind === 'heading')
    .map((b) => uniqueSlug(githubSlug(renderedText(b.text)), seen));
}

export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** github-slugger's rule for repeats: "a", "a-1", "a-2", and "a-1" itself taken into account. */
export function uniqueSlug(slug: string, seen: Map<string, number>): string {
  let unique = slug;
  while (seen.has(unique)) {
    seen.set(slug, seen.get(slug)! + 1);
    unique = `${slug}-${seen.get(slug)}`;
  }
  seen.set(unique, 0);
  return unique;
}

/** A heading's text as GitHub shows it: code spans, link texts and emphasis without their markup. */
export function renderedText(markdown: string): string {
  const { spans, prose } = codeSpans(markdown);
  let text = '';
  let last = 0;
  for (const s of spans) {
    text += renderProse(prose.slice(last, s.index)) + s.code;
    last = s.end;
  }
  return text + renderProse(prose.slice(last));
}

function renderProse(text: string): string {
  return text
    .replace(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/(\*{1,3}|_{1,3})(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1');
}
