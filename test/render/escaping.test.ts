// Values with quotes, spaces, $, backslashes and newlines never break out of their line (or
// word, or scalar) in any output language: they come back unchanged or are refused.
import { execa } from 'execa';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compile, createEnvironment, RenderError } from '../../src/render/handlebars-env.js';
import { checkPreseed } from '../../src/render/validate.js';

const NASTY = [`it's`, 'two words', '$HOME $(reboot) `id`', 'back\\slash', 'quote "double"', 'new\nline: injected', 'tab\there', 'trailing\\', '#comment', 'ümlaut ✓'];
const hb = createEnvironment();
const render = (source: string, value: string) => compile(hb, source, 't')({ value });

describe('escaping helpers', () => {
  it.each(NASTY)('shell word %j round-trips through sh', async (value) => {
    const { stdout } = await execa('sh', ['-c', `printf '%s' ${render('{{sh value}}', value)}`], { stripFinalNewline: false });
    expect(stdout).toBe(value);
  });

  it.each(NASTY)('YAML scalar %j round-trips', (value) => {
    expect(yaml.load(`key: ${render('{{yaml value}}', value)}\nother: 1\n`)).toEqual({ key: value, other: 1 });
  });

  it.each(NASTY)('JSON value %j round-trips', (value) => {
    expect(JSON.parse(`{"k": ${render('{{json value}}', value)}}`)).toEqual({ k: value });
  });

  it.each(NASTY)('preseed value %j stays on its line or is refused', (value) => {
    let out: string;
    try {
      out = render('d-i passwd/user-fullname string {{preseed value}}\n', value);
    } catch (error) {
      expect(error).toBeInstanceOf(RenderError);
      expect(/[\n\r]|\\$/.test(value)).toBe(true);
      return;
    }
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
    checkPreseed(out);
  });

  it('a missing variable is an error (strict mode), and nothing is HTML-escaped', () => {
    expect(() => compile(hb, '{{nope}}', 't')({})).toThrow(RenderError);
    expect(render('{{value}}', '<a & b>')).toBe('<a & b>');
  });
});
