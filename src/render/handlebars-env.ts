// A Handlebars environment for configuration files, not HTML: no HTML escaping, strict mode
// (a missing variable is an error), and one explicit escaping helper per output language.
// A value that cannot be expressed safely in its language is an error, never mangled.
import Handlebars from 'handlebars';

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** A preseed value runs to the end of its line; a newline or a trailing "\" would start or join another. */
export function preseedValue(value: unknown): string {
  const s = String(value);
  if (/[\r\n]/.test(s)) throw new RenderError(`preseed value ${JSON.stringify(s)} contains a line break`);
  if (/\\$/.test(s)) throw new RenderError(`preseed value ${JSON.stringify(s)} ends with a backslash, which would join the next line`);
  return s;
}

/** One shell word: single-quoted, with embedded quotes closed and reopened. */
export function shellWord(value: unknown): string {
  const s = String(value);
  if (s.includes('\0')) throw new RenderError('shell value contains a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A YAML scalar: JSON's double-quoted string is a valid YAML 1.2 flow scalar. */
export function yamlScalar(value: unknown): string {
  return JSON.stringify(value);
}

export function jsonValue(value: unknown): string {
  return JSON.stringify(value);
}

export function createEnvironment(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('preseed', (v: unknown) => preseedValue(v));
  hb.registerHelper('sh', (v: unknown) => shellWord(v));
  hb.registerHelper('yaml', (v: unknown) => yamlScalar(v));
  hb.registerHelper('json', (v: unknown) => jsonValue(v));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('join', (list: unknown[], sep: unknown) => {
    if (!Array.isArray(list)) throw new RenderError('join expects a list');
    return list.join(typeof sep === 'string' ? sep : ' ');
  });
  return hb;
}

export function compile(hb: typeof Handlebars, source: string, name: string): (context: object) => string {
  const template = hb.compile(source, { strict: true, noEscape: true });
  return (context) => {
    try {
      return template(context);
    } catch (error) {
      throw new RenderError(`template ${name}: ${(error as Error).message}`);
    }
  };
}
