/**
 * Regenerates test/support/terraform-provider-schema.json, the offline schema the Terraform tests
 * check every resource and data source against:
 *
 *   npx tsx test/support/terraform-schema-extract.ts
 *
 * The facts come from the generated bindings of @cdktf/provider-aws (and -archive) on npm: each
 * resource's code names its Terraform arguments (`synthesizeHclAttributes`), which of them are
 * nested blocks (`isBlock`), which are required (the config interface in index.d.ts), and which
 * attributes can be read (`getStringAttribute('arn')` …). The packages are fetched with `npm pack`
 * into a temporary folder and never installed: @cdktf/provider-aws unpacks to about 400 MB, the
 * JSON written here is a small fraction of that. To move to a newer AWS provider, change PACKAGES
 * and run the script again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGES = ['@cdktf/provider-aws@21.22.1', '@cdktf/provider-archive@11.0.1'] as const;

/**
 * One resource's or block's schema, as stored (compact: the file holds every type of the provider).
 * `args`: the arguments set as `name = value`, space-separated, a required one ending in "!".
 * `blocks`: nested blocks (`name { … }`); `attribute: true` marks a nested attribute object
 * (`name = { … }`). `computed`: attributes an expression may read besides the arguments and blocks.
 */
export interface BlockSchema {
  args: string;
  blocks?: Record<string, BlockSchema & { required?: boolean; attribute?: boolean }>;
  computed?: string;
}

export interface ProviderSchema {
  providers: Record<string, { package: string; version: string }>;
  resource: Record<string, BlockSchema>;
  data: Record<string, BlockSchema>;
}

interface Attr { name: string; isBlock: boolean; type: string; fn: string | undefined }

/** The entries of `const attrs = { … }` that starts at `from` in the generated JavaScript. */
function attrsAt(js: string, from: number): Attr[] {
  const marker = js.indexOf('// remove undefined attributes', from);
  const end = marker < 0 ? js.length : marker;
  const body = js.slice(from, end);
  const entry = /^\s+(\w+): \{\n\s+value: ([^\n]*)\n\s+isBlock: (true|false),\n\s+type: "(\w+)",/gm;
  const out: Attr[] = [];
  for (let m = entry.exec(body); m; m = entry.exec(body)) {
    const call = /(?:^|[(\s])([a-z]\w*)ToHclTerraform\b/.exec((m[2] ?? '').replace(/cdktf\.\w+/g, ''));
    out.push({ name: m[1] as string, isBlock: m[3] === 'true', type: m[4] as string, fn: call ? call[1] : undefined });
  }
  return out;
}

/** snake_case argument -> required, read from one interface of index.d.ts. */
function requiredIn(dts: string, iface: string): Record<string, boolean> {
  const start = dts.search(new RegExp(`export interface ${iface}( extends [^{]*)? \\{`));
  if (start < 0) return {};
  const end = dts.indexOf('\n}', start);
  const body = dts.slice(start, end);
  const prop = /\{@link [^#}]+#(\w+) [^}]*\}[\s\S]*?\*\/\s*readonly \w+(\?)?:/g;
  const out: Record<string, boolean> = {};
  for (let m = prop.exec(body); m; m = prop.exec(body)) out[m[1] as string] = m[2] !== '?';
  return out;
}

function blockSchema(js: string, dts: string, attrsStart: number, iface: string, depth: number): BlockSchema {
  const required = requiredIn(dts, iface);
  const args: string[] = [];
  const schema: BlockSchema = { args: '' };
  for (const attr of attrsAt(js, attrsStart)) {
    if (attr.fn && depth < 8) {
      const fnStart = js.indexOf(`function ${attr.fn}ToHclTerraform(struct) {`);
      const ifaceMatch = new RegExp(`function ${attr.fn}ToHclTerraform\\(struct\\?: (\\w+)`).exec(dts);
      if (fnStart >= 0) {
        const nested = blockSchema(js, dts, js.indexOf('const attrs = {', fnStart), ifaceMatch?.[1] ?? '', depth + 1);
        schema.blocks ??= {};
        schema.blocks[attr.name] = { ...nested, ...(required[attr.name] ? { required: true } : {}), ...(attr.isBlock ? {} : { attribute: true }) };
        continue;
      }
    }
    args.push(required[attr.name] ? `${attr.name}!` : attr.name);
  }
  schema.args = args.join(' ');
  return schema;
}

function extractPackage(lib: string, into: ProviderSchema): void {
  for (const dir of readdirSync(lib)) {
    const jsFile = path.join(lib, dir, 'index.js');
    if (!existsSync(jsFile)) continue;
    const js = readFileSync(jsFile, 'utf8');
    const typeMatch = /\n(\w+)\.tfResourceType = "(\w+)";/.exec(js);
    if (!typeMatch || dir === 'provider') continue;
    const [, className, type] = typeMatch as unknown as [string, string, string];
    const dts = readFileSync(path.join(lib, dir, 'index.d.ts'), 'utf8');
    const classStart = js.indexOf(`class ${className} extends cdktf.`);
    const synth = js.indexOf('synthesizeHclAttributes() {', classStart);
    const schema = blockSchema(js, dts, js.indexOf('const attrs = {', synth), `${className}Config`, 0);
    const classBody = js.slice(classStart, synth);
    const known = new Set([...schema.args.split(' ').map((arg) => arg.replace(/!$/, '')), ...Object.keys(schema.blocks ?? {})]);
    const computed = new Set<string>();
    for (const m of classBody.matchAll(/(?:get\w*Attribute|interpolationForAttribute)\('(\w+)'\)/g)) computed.add(m[1] as string);
    for (const m of classBody.matchAll(/new \w+\(this, "(\w+)"/g)) computed.add(m[1] as string);
    const extra = [...computed].filter((name) => !known.has(name)).sort();
    if (extra.length > 0) schema.computed = extra.join(' ');
    (dir.startsWith('data-') ? into.data : into.resource)[type] = schema;
  }
}

export function extract(): ProviderSchema {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tf-schema-'));
  const schema: ProviderSchema = { providers: {}, resource: {}, data: {} };
  try {
    for (const pkg of PACKAGES) {
      const tgz = execFileSync('npm', ['pack', pkg, '--pack-destination', tmp, '--silent'], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop() as string;
      const dest = path.join(tmp, tgz.replace(/\.tgz$/, ''));
      execFileSync('mkdir', ['-p', dest]);
      execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', dest]);
      const meta = JSON.parse(readFileSync(path.join(dest, 'package', 'package.json'), 'utf8')) as { 'cdktf.provider'?: { name: string; version: string }; cdktf?: { provider: { name: string; version: string } } };
      const provider = meta['cdktf.provider'] ?? meta.cdktf?.provider;
      if (!provider) throw new Error(`${pkg}: no cdktf.provider in package.json`);
      schema.providers[provider.name.split('/').pop() as string] = { package: pkg, version: provider.version };
      extractPackage(path.join(dest, 'package', 'lib'), schema);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return schema;
}

/** One type per line, so a provider upgrade reads as a diff of the types that changed. */
export function serialize(schema: ProviderSchema): string {
  const section = (types: Record<string, BlockSchema>) => Object.keys(types).sort().map((type) => `    ${JSON.stringify(type)}: ${JSON.stringify(types[type])}`).join(',\n');
  return `{\n  "providers": ${JSON.stringify(schema.providers)},\n  "resource": {\n${section(schema.resource)}\n  },\n  "data": {\n${section(schema.data)}\n  }\n}\n`;
}

export const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'terraform-provider-schema.json');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const schema = extract();
  writeFileSync(SCHEMA_FILE, serialize(schema));
  console.log(`terraform-schema: ${Object.keys(schema.resource).length} resources, ${Object.keys(schema.data).length} data sources -> ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
