// examples/terraform, parsed by HashiCorp's own HCL parser (hashicorp/hcl compiled to
// WebAssembly: @cdktn/hcl2json) and checked against the Vultr provider's schema as its Go
// source declares it (test/fixtures/terraform-provider-vultr, with its SOURCE.txt): every
// resource, data source and provider argument exists and may be set, every required one is
// there, every reference names something declared, and the example asks Vultr for what
// `vm create` would (an ISO, IPv6, our tag; one kind without public IPv4). The controls
// break the example one way at a time and see the check fail.
import { getReferencesInExpression, parse } from '@cdktn/hcl2json';
import yaml from 'js-yaml';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/project.js';

const EXAMPLE = join(ROOT, 'examples/terraform');
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/terraform-provider-vultr/schema.json'), 'utf8')) as ProviderSchema;

interface Attribute {
  type: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  /** A default (or one from the environment): required, yet need not be written. */
  default?: boolean;
  block?: Record<string, Attribute>;
}
type Attributes = Record<string, Attribute>;
interface ProviderSchema {
  provider: Attributes;
  resources: Record<string, Attributes>;
  dataSources: Record<string, Attributes>;
}

/** Terraform's own arguments, valid on every resource and data source. */
const META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);
type Body = Record<string, unknown>;
type Config = {
  terraform?: Body[];
  provider?: Record<string, Body[]>;
  variable?: Record<string, Body[]>;
  locals?: Body[];
  data?: Record<string, Record<string, Body[]>>;
  resource?: Record<string, Record<string, Body[]>>;
  output?: Record<string, Body[]>;
};

/** The example's .tf files, each parsed by HCL's own parser, merged as Terraform merges a module's files. */
async function load(files: Record<string, string>): Promise<Config> {
  const merged: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(files)) {
    const parsed = (await parse(name, text)) as Record<string, unknown>;
    for (const [key, value] of Object.entries(parsed)) {
      merged[key] = Array.isArray(value) ? [...((merged[key] as unknown[]) ?? []), ...value] : { ...((merged[key] as object) ?? {}), ...(value as object) };
    }
  }
  return merged as Config;
}

/**
 * Every `${…}` expression in a parsed value, but for a variable's type (`string` comes back as
 * "${string}") and lifecycle.ignore_changes (attribute names, checked on their own).
 */
function expressions(value: unknown, key = ''): string[] {
  if (key === 'type' || key === 'lifecycle') return [];
  if (typeof value === 'string') return value.includes('${') ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => expressions(v));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => expressions(v, k));
  return [];
}

/** Problems with one block's arguments against its schema, as sentences. */
function checkBody(where: string, body: Body, schema: Attributes, meta: boolean): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (meta && META.has(key)) {
      if (key === 'lifecycle') {
        for (const ignored of ((value as Body[])[0]?.ignore_changes as string[] | undefined) ?? []) {
          const name = ignored.replace(/^\$\{|\}$/g, '');
          if (!schema[name]) problems.push(`${where}: lifecycle.ignore_changes names ${name}, which the schema does not have`);
        }
      }
      continue;
    }
    const attribute = schema[key];
    if (!attribute) {
      problems.push(`${where}: ${key} is not an argument of the provider's schema`);
    } else if (!attribute.required && !attribute.optional) {
      problems.push(`${where}: ${key} is computed by the provider and cannot be set`);
    } else if (attribute.block) {
      for (const [i, inner] of (value as Body[]).entries()) problems.push(...checkBody(`${where}.${key}[${i}]`, inner, attribute.block, false));
    }
  }
  for (const [key, attribute] of Object.entries(schema)) if (attribute.required && !attribute.default && !(key in body)) problems.push(`${where}: the required ${key} is missing`);
  return problems;
}

/** Every problem the example has against the provider's schema and its own declarations. */
async function problemsOf(config: Config, files: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  const declared = {
    var: new Set(Object.keys(config.variable ?? {})),
    local: new Set((config.locals ?? []).flatMap((l) => Object.keys(l))),
    resource: new Map(Object.entries(config.resource ?? {}).flatMap(([type, named]) => Object.keys(named).map((n) => [`${type}.${n}`, type] as const))),
    data: new Map(Object.entries(config.data ?? {}).flatMap(([type, named]) => Object.keys(named).map((n) => [`data.${type}.${n}`, type] as const))),
  };
  for (const [name, bodies] of Object.entries(config.provider ?? {})) {
    if (name !== 'vultr') problems.push(`provider ${name} is not the Vultr provider`);
    for (const body of bodies) problems.push(...checkBody(`provider "${name}"`, body, SCHEMA.provider, false));
  }
  for (const [kind, blocks, schemas] of [
    ['resource', config.resource ?? {}, SCHEMA.resources],
    ['data', config.data ?? {}, SCHEMA.dataSources],
  ] as const) {
    for (const [type, named] of Object.entries(blocks)) {
      const schema = schemas[type];
      if (!schema) {
        problems.push(`${kind} type ${type} is not in the provider's schema`);
        continue;
      }
      for (const [name, bodies] of Object.entries(named)) for (const body of bodies) problems.push(...checkBody(`${kind} "${type}" "${name}"`, body, schema, true));
    }
  }
  // References: to declared variables, locals, resources and data sources, and to attributes their schema has.
  for (const expression of expressions(config)) {
    for (const { value } of await getReferencesInExpression('main.tf', expression)) {
      const parts = value.split('.').filter((p) => !/^\d+$/.test(p) && p !== '*');
      const [head, second, third, fourth] = parts;
      if (head === 'var' || head === 'local') {
        if (!declared[head].has(second!)) problems.push(`${value} is not declared`);
      } else if (head === 'data') {
        const type = declared.data.get(`data.${second}.${third}`);
        if (!type) problems.push(`${value} is not declared`);
        else if (fourth && fourth !== 'id' && !SCHEMA.dataSources[type]![fourth]) problems.push(`${value}: ${type} has no attribute ${fourth}`);
      } else if (head?.startsWith('vultr_')) {
        const type = declared.resource.get(`${head}.${second}`);
        if (!type) problems.push(`${value} is not declared`);
        else if (third && third !== 'id' && !SCHEMA.resources[type]![third]) problems.push(`${value}: ${type} has no attribute ${third}`);
      } else if (!['count', 'path', 'each', 'vm', 'i'].includes(head ?? '')) {
        problems.push(`${value}: an unexpected reference`);
      }
    }
  }
  // file("${path.module}/…") names a file of the example.
  for (const text of Object.values(files)) {
    for (const m of text.matchAll(/file\("\$\{path\.module\}\/([^"]+)"\)/g)) if (!existsSync(join(EXAMPLE, m[1]!))) problems.push(`file ${m[1]} is not in the example`);
  }
  return problems;
}

const files = () => Object.fromEntries(readdirSync(EXAMPLE).filter((f) => f.endsWith('.tf')).map((f) => [f, readFileSync(join(EXAMPLE, f), 'utf8')]));

describe('examples/terraform', () => {
  it('parses, and every argument and reference fits the Vultr provider\'s schema', async () => {
    const tf = files();
    expect(Object.keys(tf).sort()).toEqual(['main.tf', 'outputs.tf', 'variables.tf']);
    const config = await load(tf);
    expect(await problemsOf(config, tf)).toEqual([]);
    expect(config.terraform?.[0]?.required_providers).toEqual([{ vultr: { source: 'vultr/vultr', version: '~> 2.32' } }]);
  });

  it('asks Vultr for what vm create would: the ISO, IPv6, our tag first; one kind without public IPv4', async () => {
    const config = await load(files());
    const instances = config.resource!.vultr_instance!;
    const locals = Object.assign({}, ...(config.locals ?? [])) as Body;
    expect(Object.keys(instances).sort()).toEqual(['dual_stack', 'ipv6_only']);
    for (const [name, [body]] of Object.entries(instances)) {
      expect(body, name).toMatchObject({ enable_ipv6: true, iso_id: '${local.iso_id}', tags: '${local.tags}', user_data: expect.stringContaining('user-data.yaml') });
      expect(body, name).not.toHaveProperty('os_id');
      expect((body!.lifecycle as Body[])[0]!.ignore_changes).toEqual(['${iso_id}']);
    }
    expect(instances.ipv6_only![0]).toMatchObject({ disable_public_ipv4: true });
    expect(instances.dual_stack![0]).not.toHaveProperty('disable_public_ipv4');
    // vm.tags' default first tag: vm list, vm detach and vm delete take these VMs as ours.
    expect((locals.tags as string[])[0]).toBe('vultr-sid-iso');
    const userData = readFileSync(join(EXAMPLE, 'user-data.yaml'), 'utf8');
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    expect(yaml.load(userData)).toMatchObject({ runcmd: expect.any(Array) });
  });

  it.each([
    ['a misspelt argument', 'enable_ipv6 = true', 'enable_ipv66 = true', 'enable_ipv66 is not an argument'],
    ['an attribute only the provider sets', 'enable_ipv6 = true', 'enable_ipv6 = true\n  main_ip = "192.0.2.1"', 'main_ip is computed by the provider'],
    ['a required argument left out', '  plan        = var.plan\n', '', 'the required plan is missing'],
    ['an undeclared variable', 'var.region', 'var.regoin', 'var.regoin is not declared'],
    ['an attribute the data source lacks', 'sid[0].id', 'sid[0].isoid', 'vultr_iso_private has no attribute isoid'],
    ['a data source argument it lacks', 'name   = "filename"', 'nam    = "filename"', 'nam is not an argument'],
    ['a resource type the provider lacks', 'resource "vultr_instance" "ipv6_only"', 'resource "vultr_instanse" "ipv6_only"', 'resource type vultr_instanse is not in'],
    ['an ignore_changes on nothing', 'ignore_changes = [iso_id]', 'ignore_changes = [iso]', 'lifecycle.ignore_changes names iso'],
  ])('control: %s is caught', async (_, from, to, problem) => {
    const tf = files();
    expect(tf['main.tf']).toContain(from);
    tf['main.tf'] = tf['main.tf']!.replace(from, to);
    expect((await problemsOf(await load(tf), tf)).join('\n')).toContain(problem);
  });

  it('control: HCL that does not parse is refused by the parser', async () => {
    await expect(parse('main.tf', 'resource "vultr_instance" "x" {\n  region = "ewr"\n')).rejects.toThrow(/Unclosed configuration block/);
  });
});
