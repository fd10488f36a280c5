/**
 * Instructions, not seconds: a process under valgrind's callgrind counts the instructions each
 * function executes, which is the same from run to run whatever else the shared machine does
 * (the wall-clock bench's passes differ by up to 40 % on it). JIT code is named from V8's own map
 * of it (`--perf-basic-prof` writes /tmp/perf-PID.map).
 */
import { readFileSync } from 'node:fs';

/** One function's instructions: its own, and with everything it called. */
export interface Cost {
  readonly name: string;
  readonly self: number;
  readonly inclusive: number;
}

/** A dump's total and its functions, JIT code named. */
export interface Profile {
  readonly total: number;
  readonly functions: readonly Cost[];
}

interface Range { readonly start: number; readonly end: number; readonly name: string }

/** V8's perf map: `START SIZE NAME` a line, hexadecimal; later lines win (code space is reused). */
function readPerfMap(file: string): Range[] {
  const ranges: Range[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!match) continue;
    const start = Number.parseInt(match[1] as string, 16);
    ranges.push({ start, end: start + Number.parseInt(match[2] as string, 16), name: match[3] as string });
  }
  return ranges.reverse();
}

/** callgrind names code without a symbol by its address: V8's name for it when the map has one. */
function namer(ranges: readonly Range[]): (name: string) => string {
  const named = new Map<string, string>();
  return (name) => {
    if (!/^0x[0-9a-f]+$/.test(name)) return name;
    let found = named.get(name);
    if (found === undefined) {
      const address = Number.parseInt(name, 16);
      found = ranges.find((range) => address >= range.start && address < range.end)?.name ?? name;
      named.set(name, found);
    }
    return found;
  };
}

/** A dump's instructions in all. */
export function totalOf(dump: string): number {
  const summary = /^summary: (\d+)$/m.exec(readFileSync(dump, 'utf8'));
  if (!summary) throw new Error(`${dump} is no callgrind dump: it has no summary line`);
  return Number(summary[1]);
}

/**
 * Reads a callgrind dump (`--dump-instr=no`, one event: Ir). Its format names a function once
 * (`fn=(7) name`) and refers to it by number after; a `calls=` line is followed by the cost of
 * that call, which is the caller's inclusive cost, not its own.
 */
export function readProfile(dump: string, perfMap: string): Profile {
  const nameOf = namer(readPerfMap(perfMap));
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  const called = new Map<string, number>();
  const add = (into: Map<string, number>, key: string, cost: number) => into.set(key, (into.get(key) ?? 0) + cost);
  let current: string | undefined;
  let callCost = false;
  let total = 0;
  for (const line of readFileSync(dump, 'utf8').split('\n')) {
    const fn = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn) {
      const [, kind, id = '', name] = fn;
      if (name !== undefined) names.set(id, nameOf(name));
      if (kind === 'fn') current = names.get(id);
      continue;
    }
    if (line.startsWith('summary:')) total = Number(line.slice('summary:'.length));
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    const cost = /^[+\-*\d]\S* (\d+)/.exec(line);
    if (!cost || current === undefined) continue;
    add(callCost ? called : self, current, Number(cost[1]));
    callCost = false;
  }
  if (total === 0) throw new Error(`${dump} counted no instructions: was the process instrumented while the load ran?`);
  const functions = [...new Set([...self.keys(), ...called.keys()])]
    .map((name) => ({ name, self: self.get(name) ?? 0, inclusive: (self.get(name) ?? 0) + (called.get(name) ?? 0) }));
  return { total, functions };
}
