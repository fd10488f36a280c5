/**
 * Offline checks of terraform/: no Terraform binary runs here, so the configuration is parsed with
 * @cdktf/hcl2json and checked by these functions. Each returns a list of problems, one line each
 * naming the file and the thing; an empty list is a pass. test/terraform.test.ts runs them on the
 * real tree and on copies with planted defects.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import type { BlockSchema, ProviderSchema } from './terraform-schema-extract.js';
import { SCHEMA_FILE } from './terraform-schema-extract.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export interface TfFile { readonly path: string; readonly text: string; readonly json: Obj }

/** One Terraform module: the .tf files of one folder. */
export interface TfModule {
  readonly dir: string;
  readonly files: readonly TfFile[];
  readonly variables: Map<string, { file: string; body: Obj }>;
  readonly locals: Map<string, { file: string; value: Json }>;
  readonly outputs: Map<string, { file: string; body: Obj }>;
  /** "aws_lambda_function.function" and "data.aws_region.current" -> body */
  readonly resources: Map<string, { file: string; kind: 'resource' | 'data'; type: string; name: string; body: Obj }>;
  readonly modules: Map<string, { file: string; body: Obj }>;
  readonly providers: Map<string, { file: string; body: Obj }>;
  readonly terraform: Obj[];
}

export type Tree = Map<string, TfModule>;

const META_ARGS = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'provisioner', 'connection']);
const MODULE_META_ARGS = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);

/**
 * Resource types of providers without a cdktf package on npm (grafana/grafana): the arguments
 * each sets, as the provider's documentation lists them. The AWS and archive providers are
 * checked against the generated schema instead.
 */
export const DOCUMENTED_TYPES: Record<string, BlockSchema> = {
  grafana_data_source: { args: 'type! name! url uid is_default access_mode basic_auth_enabled basic_auth_username database_name username http_headers org_id json_data_encoded secure_json_data_encoded' },
  grafana_folder: { args: 'title! uid org_id' },
  grafana_dashboard: { args: 'config_json! folder' },
};

let schemaCache: ProviderSchema | undefined;
export function providerSchema(): ProviderSchema {
  schemaCache ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as ProviderSchema;
  return schemaCache;
}

function isObj(value: Json | undefined): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hcl2json writes every block as an array of objects. */
function blocks(value: Json | undefined): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

export function tfFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root).sort()) {
    const full = path.join(root, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== '.terraform') out.push(...tfFiles(full));
    } else if (entry.endsWith('.tf')) out.push(full);
  }
  return out;
}

/** Every module under `root` (a folder with .tf files), keyed by its folder relative to `root`. */
export async function loadTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  for (const file of tfFiles(root)) {
    const dir = path.relative(root, path.dirname(file)) || '.';
    const text = readFileSync(file, 'utf8');
    const json = await parse(path.relative(root, file), text) as Obj;
    let module = tree.get(dir);
    if (!module) {
      module = { dir, files: [], variables: new Map(), locals: new Map(), outputs: new Map(), resources: new Map(), modules: new Map(), providers: new Map(), terraform: [] };
      tree.set(dir, module);
    }
    const rel = path.relative(root, file);
    (module.files as TfFile[]).push({ path: rel, text, json });
    for (const [name, list] of Object.entries(isObj(json.variable) ? json.variable : {})) for (const body of blocks(list)) module.variables.set(name, { file: rel, body });
    for (const [name, list] of Object.entries(isObj(json.output) ? json.output : {})) for (const body of blocks(list)) module.outputs.set(name, { file: rel, body });
    for (const [name, list] of Object.entries(isObj(json.module) ? json.module : {})) for (const body of blocks(list)) module.modules.set(name, { file: rel, body });
    for (const [name, list] of Object.entries(isObj(json.provider) ? json.provider : {})) for (const body of blocks(list)) module.providers.set(name, { file: rel, body });
    for (const body of blocks(json.locals)) for (const [name, value] of Object.entries(body)) module.locals.set(name, { file: rel, value });
    module.terraform.push(...blocks(json.terraform));
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, named] of Object.entries(isObj(json[kind]) ? json[kind] : {})) {
        if (!isObj(named)) continue;
        for (const [name, list] of Object.entries(named)) {
          for (const body of blocks(list)) module.resources.set(kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`, { file: rel, kind, type, name, body });
        }
      }
    }
  }
  return tree;
}

// ---------------------------------------------------------------------------------------------
// Formatting: what `terraform fmt` does to the constructs this repository uses.

interface Scanned { code: string; net: number }

/**
 * The line with string contents blanked (interpolations kept), and its net bracket count as
 * hclwrite counts it: (, [, { and ${ open; ), ], } close; nothing after a heredoc opener.
 */
function scanLine(line: string, state: { inString: boolean[] }): Scanned {
  let code = '';
  let net = 0;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i] as string;
    if (state.inString[state.inString.length - 1] === true) {
      if (c === '\\') { code += '__'; i += 1; continue; }
      if (c === '"') { state.inString.pop(); code += '"'; continue; }
      if ((c === '$' || c === '%') && line[i + 1] === '{') { state.inString.push(false); net += 1; code += `${c}{`; i += 1; continue; }
      code += '_';
      continue;
    }
    if (c === '#' || (c === '/' && line[i + 1] === '/')) break;
    if (c === '<' && line[i + 1] === '<') { code += line.slice(i); break; }
    if (c === '"') { state.inString.push(true); code += '"'; continue; }
    if (c === '{' || c === '[' || c === '(') { net += 1; if (c === '{') state.inString.push(false); }
    if (c === '}' || c === ']' || c === ')') { net -= 1; if (c === '}') state.inString.pop(); }
    code += c;
  }
  return { code, net };
}

/** Index of the line's assignment `=` (not ==, !=, <=, >=, =>), or -1. */
function assignIndex(code: string): number {
  for (let i = 1; i < code.length; i += 1) {
    if (code[i] !== '=') continue;
    const before = code[i - 1] as string;
    const after = code[i + 1];
    if ('=!<>'.includes(before) || after === '=' || after === '>') continue;
    return i;
  }
  return -1;
}

function netBrackets(code: string): number {
  let net = 0;
  for (const c of code) {
    if (c === '{' || c === '[' || c === '(') net += 1;
    if (c === '}' || c === ']' || c === ')') net -= 1;
  }
  return net;
}

/**
 * Differences from `terraform fmt`: two-space indentation by bracket depth, the `=` of consecutive
 * one-line attributes aligned one space after the longest name, one space after `=`, no tabs,
 * no trailing whitespace, one final newline. Heredoc bodies are left alone, as fmt does.
 */
export function formatProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith('\n') || text.endsWith('\n\n')) problems.push(`${file}: must end with exactly one newline`);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const state = { inString: [] as boolean[] };
  const indents: number[] = [];
  let heredoc: string | undefined;
  let chain: Array<{ line: number; nameEnd: number; eq: number }> = [];
  const closeChain = () => {
    if (chain.length === 0) return;
    const want = Math.max(...chain.map((entry) => entry.nameEnd)) + 1;
    for (const entry of chain) if (entry.eq !== want) problems.push(`${file}:${entry.line}: "=" at column ${entry.eq + 1}, terraform fmt aligns it at ${want + 1}`);
    chain = [];
  };
  lines.forEach((line, index) => {
    const n = index + 1;
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      closeChain();
      return;
    }
    if (line.includes('\t')) problems.push(`${file}:${n}: a tab`);
    if (/\s+$/.test(line)) problems.push(`${file}:${n}: trailing whitespace`);
    if (line.trim() === '') { closeChain(); return; }
    const scanned = scanLine(line, state);
    // hclwrite's formatIndent: one level per line that opens, popped by the lines that close.
    if (scanned.net < 0) {
      let closed = -scanned.net;
      while (closed > 0 && indents.length > 0) {
        const top = indents[indents.length - 1] as number;
        if (closed >= top) { closed -= top; indents.pop(); } else { indents[indents.length - 1] = top - closed; closed = 0; }
      }
    }
    const expectedIndent = 2 * indents.length;
    if (scanned.net > 0) indents.push(scanned.net);
    const indent = line.length - line.trimStart().length;
    if (indent !== expectedIndent) problems.push(`${file}:${n}: indented ${indent}, terraform fmt indents ${expectedIndent}`);
    const eq = assignIndex(scanned.code);
    const heredocStart = /<<-?([A-Z_]+)\s*$/.exec(scanned.code);
    if (eq > 0 && (netBrackets(scanned.code.slice(eq)) === 0 || heredocStart)) {
      const nameEnd = scanned.code.slice(0, eq).trimEnd().length;
      chain.push({ line: n, nameEnd, eq });
      if (!/^= \S/.test(scanned.code.slice(eq))) problems.push(`${file}:${n}: one space after "="`);
    } else {
      closeChain();
      if (eq > 0 && !/^ = \S/.test(scanned.code.slice(scanned.code.slice(0, eq).trimEnd().length))) problems.push(`${file}:${n}: one space around "="`);
    }
    // Inside a line, single spaces only (the alignment before "=" aside).
    const inner = scanned.code.trimStart().replace(/^[^=]*?\s+=/, (m) => m.replace(/\s+=$/, ' ='));
    if (/\S {2,}\S/.test(inner)) problems.push(`${file}:${n}: more than one space between tokens`);
    if (/ ,/.test(inner) || /,\S/.test(inner)) problems.push(`${file}:${n}: a comma is followed by one space and preceded by none`);
    if (heredocStart) heredoc = heredocStart[1];
  });
  closeChain();
  if (indents.length !== 0) problems.push(`${file}: brackets do not balance`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Schema: every resource and data source type, argument and nested block exists in the provider.

function argsOf(schema: BlockSchema): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const arg of schema.args.split(' ').filter(Boolean)) out.set(arg.replace(/!$/, ''), arg.endsWith('!'));
  return out;
}

function checkBody(where: string, body: Obj, schema: BlockSchema, top: boolean, problems: string[]): void {
  const args = argsOf(schema);
  const nested = schema.blocks ?? {};
  const dynamicLabels = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    if (top && META_ARGS.has(key)) continue;
    if (key === 'dynamic') {
      for (const [label, list] of Object.entries(isObj(value) ? value : {})) {
        const block = nested[label];
        if (!block || block.attribute) { problems.push(`${where}: dynamic "${label}": the provider has no block "${label}"`); continue; }
        dynamicLabels.add(label);
        for (const item of blocks(list)) for (const content of blocks(item.content)) checkBody(`${where}.${label}`, content, block, false, problems);
      }
      continue;
    }
    if (args.has(key)) continue;
    const block = nested[key];
    if (!block) { problems.push(`${where}: the provider has no argument or block "${key}"`); continue; }
    if (block.attribute) continue;
    if (!Array.isArray(value)) { problems.push(`${where}: "${key}" is a block, written "${key} { … }"`); continue; }
    for (const item of blocks(value)) checkBody(`${where}.${key}`, item, block, false, problems);
  }
  for (const [arg, required] of args) if (required && !(arg in body)) problems.push(`${where}: the required argument "${arg}" is missing`);
  for (const [name, block] of Object.entries(nested)) if (block.required && !(name in body) && !dynamicLabels.has(name)) problems.push(`${where}: the required block "${name}" is missing`);
}

export function schemaProblems(tree: Tree, schema: ProviderSchema = providerSchema()): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) {
    for (const [address, resource] of module.resources) {
      const where = `${resource.file}: ${address}`;
      const typeSchema = resource.kind === 'data' ? schema.data[resource.type] : (schema.resource[resource.type] ?? DOCUMENTED_TYPES[resource.type]);
      if (!typeSchema) { problems.push(`${where}: the providers have no ${resource.kind === 'data' ? 'data source' : 'resource type'} "${resource.type}"`); continue; }
      checkBody(where, resource.body, typeSchema, true, problems);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Expressions and references.

/** Every string in a value, with the path to it. */
function* strings(value: Json, at: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [at, value];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, `${at}[${i}]`);
  else if (isObj(value)) for (const [key, item] of Object.entries(value)) yield* strings(item, at ? `${at}.${key}` : key);
}

/** The code of a template's interpolations, string literals inside it blanked (their interpolations kept). */
export function expressionCode(template: string): string {
  let code = '';
  const stack: Array<'str' | 'interp' | 'brace'> = ['str'];
  for (let i = 0; i < template.length; i += 1) {
    const c = template[i] as string;
    const top = stack[stack.length - 1];
    if (top === 'str' || top === undefined) {
      if (c === '\\') { i += 1; continue; }
      if ((c === '$' || c === '%') && template[i + 1] === '{') { stack.push('interp'); i += 1; code += ' '; continue; }
      if (c === '"' && stack.length > 1) { stack.pop(); code += ' '; }
      continue;
    }
    if (c === '"') { stack.push('str'); code += ' '; continue; }
    if (c === '{') stack.push('brace');
    if (c === '}') { stack.pop(); if (top === 'interp') { code += ' '; continue; } }
    code += c;
  }
  return code;
}

interface Reference { kind: 'var' | 'local' | 'module' | 'data' | 'resource'; parts: string[]; text: string }

export function references(template: string, resourceTypes: (type: string) => boolean): Reference[] {
  const code = expressionCode(template);
  const out: Reference[] = [];
  const chain = /(?<![\w.])([a-z_][\w-]*)((?:\s*(?:\.[\w-]+|\[[^\]]*\]))*)/gi;
  for (const m of code.matchAll(chain)) {
    const head = m[1] as string;
    const parts = [head, ...[...(m[2] ?? '').matchAll(/\.([\w-]+)/g)].map((p) => p[1] as string)];
    const text = m[0].replace(/\s+/g, '');
    if (head === 'var' && parts.length > 1) out.push({ kind: 'var', parts, text });
    else if (head === 'local' && parts.length > 1) out.push({ kind: 'local', parts, text });
    else if (head === 'module' && parts.length > 2) out.push({ kind: 'module', parts, text });
    else if (head === 'data' && parts.length > 2) out.push({ kind: 'data', parts, text });
    else if (parts.length > 1 && resourceTypes(head) && !/^\s*\(/.test(code.slice((m.index ?? 0) + m[0].length))) out.push({ kind: 'resource', parts, text });
  }
  return out;
}

function readable(schema: BlockSchema | undefined): Set<string> | undefined {
  if (!schema) return undefined;
  return new Set(['id', ...argsOf(schema).keys(), ...Object.keys(schema.blocks ?? {}), ...(schema.computed ?? '').split(' ').filter(Boolean)]);
}

/** The module a call's `source` names, when it is a folder of this tree. */
export function calledModule(tree: Tree, module: TfModule, source: Json | undefined): TfModule | undefined {
  if (typeof source !== 'string' || !source.startsWith('.')) return undefined;
  return tree.get(path.normalize(path.join(module.dir, source)));
}

export function referenceProblems(tree: Tree, schema: ProviderSchema = providerSchema()): string[] {
  const problems: string[] = [];
  const isType = (type: string) => type in schema.resource || type in DOCUMENTED_TYPES;
  for (const module of tree.values()) {
    for (const file of module.files) {
      for (const [at, value] of strings(file.json, '')) {
        if (!value.includes('${') && !value.includes('%{')) continue;
        for (const ref of references(value, isType)) {
          const where = `${file.path}: ${at}: ${ref.text}`;
          const [, a = '', b = '', c = ''] = ref.parts;
          if (ref.kind === 'var' && !module.variables.has(a)) problems.push(`${where}: no variable "${a}" is declared`);
          if (ref.kind === 'local' && !module.locals.has(a)) problems.push(`${where}: no local "${a}" is defined`);
          if (ref.kind === 'module') {
            const call = module.modules.get(a);
            if (!call) { problems.push(`${where}: no module "${a}" is called`); continue; }
            const target = calledModule(tree, module, call.body.source);
            if (target && !target.outputs.has(b)) problems.push(`${where}: module "${a}" (${target.dir}) has no output "${b}"`);
          }
          if (ref.kind === 'data' || ref.kind === 'resource') {
            const [type, name, attr] = ref.kind === 'data' ? [a, b, c] : [ref.parts[0] as string, a, b];
            const address = ref.kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
            if (!module.resources.has(address)) { problems.push(`${where}: no ${address} in ${module.dir}`); continue; }
            const known = readable(ref.kind === 'data' ? schema.data[type] : (schema.resource[type] ?? DOCUMENTED_TYPES[type]));
            if (attr && known && !known.has(attr) && type in (ref.kind === 'data' ? schema.data : schema.resource)) problems.push(`${where}: ${type} has no attribute "${attr}"`);
          }
        }
      }
    }
  }
  return problems;
}

/** Every module call passes each required variable of its module, and none the module lacks. */
export function moduleCallProblems(tree: Tree): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) {
    for (const [name, call] of module.modules) {
      const target = calledModule(tree, module, call.body.source);
      if (!target) { problems.push(`${call.file}: module "${name}": source ${String(call.body.source)} is not a module of this tree`); continue; }
      for (const [variable, declared] of target.variables) {
        if (!('default' in declared.body) && !(variable in call.body)) problems.push(`${call.file}: module "${name}" does not set the required variable "${variable}" of ${target.dir}`);
      }
      for (const key of Object.keys(call.body)) {
        if (!MODULE_META_ARGS.has(key) && !target.variables.has(key)) problems.push(`${call.file}: module "${name}" sets "${key}", which ${target.dir} does not declare`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Security.

const SECRET_NAME = /(password|passwd|secret|token|sdk_?key|api_?key|private_?key|access_?key)/i;
// References to a secret, not secrets: its ARN, its name, the environment variable that holds it (`webhookSecretEnv`).
const SECRET_NAME_OK = /(_arn|_name|_id|_seconds|Arn|Env|_days|_type|_auth|^secrets$)$/i;
const SECRET_VALUE = [/AKIA[0-9A-Z]{16}/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /:\/\/[^/\s:@${}]+:[^@\s${}]+@/, /\bglsa_[A-Za-z0-9_]{10,}/, /\bgh[pousr]_[A-Za-z0-9]{20,}/];

/** No secret written into the configuration: by its name with a literal value, or by its look. */
export function secretLiteralProblems(tree: Tree): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) {
    for (const file of module.files) {
      const walk = (value: Json, at: string, key: string) => {
        if (typeof value === 'string') {
          const literal = !value.includes('${');
          if (literal && SECRET_NAME.test(key) && !SECRET_NAME_OK.test(key) && value !== '') problems.push(`${file.path}: ${at}: a literal value for "${key}"; take it from Secrets Manager or SSM`);
          for (const pattern of SECRET_VALUE) if (pattern.test(value)) problems.push(`${file.path}: ${at}: looks like a secret (${pattern.source})`);
          return;
        }
        if (Array.isArray(value)) { value.forEach((item, i) => walk(item, `${at}[${i}]`, key)); return; }
        if (isObj(value)) {
          // An ECS-style environment entry: { name = "X_TOKEN", value = "…" }.
          if (typeof value.name === 'string' && 'value' in value && SECRET_NAME.test(value.name) && typeof value.value === 'string' && !value.value.includes('${')) {
            problems.push(`${file.path}: ${at}: environment variable ${value.name} has a literal value`);
          }
          for (const [k, item] of Object.entries(value)) walk(item, at ? `${at}.${k}` : k, k);
        }
      };
      walk(file.json, '', '');
    }
    for (const [name, variable] of module.variables) {
      if (SECRET_NAME.test(name) && !SECRET_NAME_OK.test(name) && 'default' in variable.body && variable.body.default !== null) problems.push(`${variable.file}: variable "${name}" has a default; a secret has none`);
    }
  }
  return problems;
}

function asList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** No IAM statement allows every action on every resource. */
export function iamProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const isStar = (items: Json[]) => items.some((item) => item === '*');
  for (const module of tree.values()) {
    for (const [address, resource] of module.resources) {
      if (resource.type === 'aws_iam_policy_document' && resource.kind === 'data') {
        const statements = [...blocks(resource.body.statement)];
        const dynamic = isObj(resource.body.dynamic) ? resource.body.dynamic : {};
        for (const item of blocks(dynamic.statement)) statements.push(...blocks(item.content));
        for (const statement of statements) {
          if (statement.effect === 'Deny') continue;
          if (isStar(asList(statement.actions)) && isStar(asList(statement.resources))) problems.push(`${resource.file}: ${address}: a statement allows action "*" on resource "*"`);
        }
      }
      for (const [at, value] of strings(resource.body, '')) {
        if (/"?Action"?\s*[=:]\s*\[?\s*"\*"/.test(value) && /"?Resource"?\s*[=:]\s*\[?\s*"\*"/.test(value)) problems.push(`${resource.file}: ${address}.${at}: a policy allows action "*" on resource "*"`);
      }
    }
  }
  return problems;
}

const OPEN_CIDRS = new Set(['0.0.0.0/0', '::/0']);

/** Ingress from anywhere only to a load balancer's security group, on 443, or on 80 where HTTP redirects. */
export function ingressProblems(tree: Tree): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) {
    const balancerGroups = new Set<string>();
    let redirects = false;
    for (const resource of module.resources.values()) {
      if (resource.type === 'aws_lb' && resource.kind === 'resource') for (const group of asList(resource.body.security_groups)) balancerGroups.add(String(group).replace(/^\$\{(.*)\}$/, '$1'));
      if (resource.type === 'aws_lb_listener' && resource.body.port === 80) {
        redirects = blocks(resource.body.default_action).every((action) => action.type === 'redirect' && blocks(action.redirect).every((r) => r.protocol === 'HTTPS'));
      }
    }
    const allowed = (group: string, from: Json | undefined, to: Json | undefined) => {
      const id = group.replace(/^\$\{(.*)\}$/, '$1');
      if (!balancerGroups.has(id)) return `security group ${id} is not a load balancer's`;
      if (from !== to) return `ports ${String(from)}-${String(to)}`;
      if (from === 443 || (from === 80 && redirects)) return undefined;
      return from === 80 ? 'port 80 without an HTTP listener that redirects to HTTPS' : `port ${String(from)}`;
    };
    for (const [address, resource] of module.resources) {
      if (resource.kind !== 'resource') continue;
      if (resource.type === 'aws_vpc_security_group_ingress_rule') {
        const open = [resource.body.cidr_ipv4, resource.body.cidr_ipv6].some((cidr) => typeof cidr === 'string' && OPEN_CIDRS.has(cidr));
        if (!open) continue;
        const why = allowed(String(resource.body.security_group_id), resource.body.from_port, resource.body.to_port);
        if (why) problems.push(`${resource.file}: ${address}: ingress from anywhere (${why})`);
      }
      if (resource.type === 'aws_security_group_rule' && resource.body.type === 'ingress') {
        if (!asList(resource.body.cidr_blocks).concat(asList(resource.body.ipv6_cidr_blocks)).some((cidr) => typeof cidr === 'string' && OPEN_CIDRS.has(cidr))) continue;
        const why = allowed(String(resource.body.security_group_id), resource.body.from_port, resource.body.to_port);
        if (why) problems.push(`${resource.file}: ${address}: ingress from anywhere (${why})`);
      }
      if (resource.type === 'aws_security_group') {
        for (const rule of blocks(resource.body.ingress)) {
          if (!asList(rule.cidr_blocks).concat(asList(rule.ipv6_cidr_blocks)).some((cidr) => typeof cidr === 'string' && OPEN_CIDRS.has(cidr))) continue;
          const why = allowed(`\${${address}.id}`, rule.from_port, rule.to_port);
          if (why) problems.push(`${resource.file}: ${address}: inline ingress from anywhere (${why})`);
        }
      }
    }
  }
  return problems;
}

/** Every database instance or cluster says publicly_accessible = false, and is encrypted. */
export function databaseProblems(tree: Tree): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) {
    for (const [address, resource] of module.resources) {
      if (resource.kind !== 'resource') continue;
      if (resource.type === 'aws_db_instance' || resource.type === 'aws_rds_cluster_instance') {
        if (resource.body.publicly_accessible !== false) problems.push(`${resource.file}: ${address}: publicly_accessible must be false`);
      }
      if (resource.type === 'aws_db_instance' || resource.type === 'aws_rds_cluster') {
        if (resource.body.storage_encrypted !== true) problems.push(`${resource.file}: ${address}: storage_encrypted must be true`);
      }
    }
  }
  return problems;
}

/** Every problem of every check, for a tree that must have none. */
export function allProblems(tree: Tree): string[] {
  const problems: string[] = [];
  for (const module of tree.values()) for (const file of module.files) problems.push(...formatProblems(file.path, file.text));
  return [...problems, ...schemaProblems(tree), ...referenceProblems(tree), ...moduleCallProblems(tree), ...secretLiteralProblems(tree), ...iamProblems(tree), ...ingressProblems(tree), ...databaseProblems(tree)];
}

/** One lambda-service instance per function of new-services/functions.ts, and none for anything else. */
export function functionProblems(tree: Tree, functions: readonly string[]): string[] {
  const problems: string[] = [];
  const deployed = new Map<string, string>();
  for (const module of tree.values()) {
    for (const [name, call] of module.modules) {
      if (calledModule(tree, module, call.body.source)?.dir !== 'modules/lambda-service') continue;
      const fn = String(call.body.name);
      if (deployed.has(fn)) problems.push(`${call.file}: module "${name}" deploys ${fn} a second time`);
      deployed.set(fn, `${call.file}: module "${name}"`);
      if (!functions.includes(fn)) problems.push(`${call.file}: module "${name}" deploys "${fn}", which new-services/functions.ts does not list`);
    }
  }
  for (const fn of functions) if (!deployed.has(fn)) problems.push(`new-services/functions.ts: ${fn} has no lambda-service instance`);
  return problems;
}
