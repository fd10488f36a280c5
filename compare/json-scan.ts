import { fitsDouble } from './number.js';
import type { PathSegment } from './pointer.js';

/*
 * A pass over JSON text that finds what a parser would not say: how deep it nests, how many
 * values it holds, which object members it repeats, and whether a number needs more than a
 * double. It runs before the parser, which recurses, so that a document past a limit is never
 * parsed; it keeps its own stack, so that no document can exhaust the call stack. It does not
 * validate: the parser does, afterwards.
 */

export interface JsonLimits {
  /** Containers nested in one another: `[]` is 1 deep, `[[]]` 2, a scalar 0. */
  readonly maxDepth: number;
  /** Values in one document: every scalar, array and object at any depth, the root included. */
  readonly maxValues: number;
}

/** A document past a limit; the message says which, in one line. */
export class JsonLimitError extends Error {}

/** A member that an object of the document has more than once, with where each of its values starts. */
export interface RepeatedMember {
  readonly path: readonly PathSegment[];
  readonly starts: number[];
}

export interface Scan {
  readonly repeated: readonly RepeatedMember[];
  /** Whether a number of the text is one that no double holds exactly. */
  readonly exactNumbers: boolean;
}

/** Past this many members, an object's names are looked up in a Map rather than by a walk along them. */
const MEMBERS_WALKED = 16;

/**
 * The container being read at one depth. One Frame serves every container at its depth in turn,
 * so that a document's objects and arrays cost the scan no allocation of their own.
 */
class Frame {
  isObject = false;
  /** Arrays: the index of the element being read. */
  index = 0;
  /** Objects: the member whose value comes next, or undefined while a name is expected. */
  name: string | undefined = undefined;
  /**
   * Objects: the members read so far, by name and where each one's first value starts: the first
   * `members` entries of the two arrays, which keep their room from one object to the next.
   */
  private members = 0;
  private readonly names: string[] = [];
  private readonly starts: number[] = [];
  /** Objects past MEMBERS_WALKED members: each name's place in `names`. */
  private places: Map<string, number> | undefined = undefined;
  /** Objects: the members repeated so far, made on the first one. */
  repeated: Map<string, RepeatedMember> | undefined = undefined;

  open(isObject: boolean): void {
    this.isObject = isObject;
    this.index = 0;
    this.name = undefined;
    this.members = 0;
    this.places = undefined;
    this.repeated = undefined;
  }

  /** This container's step in the path of the value being read: the member's name or the element's index. */
  segment(): PathSegment {
    return this.isObject ? this.name ?? '' : this.index;
  }

  /** Where the member `name`'s first value starts, or -1 when it is new, and then it is noted as starting at `at`. */
  firstStart(name: string, at: number): number {
    const place = this.places ? this.places.get(name) ?? -1 : this.walkedPlace(name);
    if (place !== -1) return this.starts[place] as number;
    this.names[this.members] = name;
    this.starts[this.members] = at;
    this.places?.set(name, this.members);
    this.members++;
    if (!this.places && this.members > MEMBERS_WALKED) this.places = new Map(this.names.slice(0, this.members).map((each, i) => [each, i]));
    return -1;
  }

  private walkedPlace(name: string): number {
    for (let place = 0; place < this.members; place++) if (this.names[place] === name) return place;
    return -1;
  }
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39;
const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function isNumberStart(code: number): boolean {
  return code === MINUS || (code >= ZERO && code <= NINE);
}

/** Where the string starting at `start` (its opening quote) ends: just past its closing quote. */
export function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    // The quote is escaped when an odd number of backslashes stands before it.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Where a number or a literal (true, false, null) starting at `start` ends. */
function scalarEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    if (code === COMMA || code === CLOSE_ARRAY || code === CLOSE_OBJECT || code === COLON || code === QUOTE
      || code === OPEN_ARRAY || code === OPEN_OBJECT || isWhitespace(code)) break;
    end++;
  }
  return end;
}

/** Where the value starting at `start` ends, nested containers included. */
export function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return stringEnd(text, start);
  if (first !== OPEN_ARRAY && first !== OPEN_OBJECT) return scalarEnd(text, start);
  let depth = 0, at = start;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) { at = stringEnd(text, at); continue; }
    if (code === OPEN_ARRAY || code === OPEN_OBJECT) depth++;
    else if ((code === CLOSE_ARRAY || code === CLOSE_OBJECT) && --depth === 0) return at + 1;
    at++;
  }
  return text.length;
}

/** A member name as the parser reads it, escapes undone ("\u0061" is "a"). */
function memberName(text: string, start: number, end: number): string {
  const inner = text.slice(start + 1, end - 1);
  if (!inner.includes('\\')) return inner;
  const quoted = text.slice(start, end);
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted; // Not JSON: the parser will say so.
  }
}

class Scanner {
  /** Frames by depth, reused; those below `depth` are the containers open now, the innermost last. */
  private readonly frames: Frame[] = [];
  private depth = 0;
  private values = 0;
  private readonly repeated: RepeatedMember[] = [];
  private exactNumbers = false;

  constructor(private readonly text: string, private readonly limits: JsonLimits) {}

  run(): Scan {
    const { text } = this;
    let at = 0;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      const frame = this.depth > 0 ? this.frames[this.depth - 1] : undefined;
      if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
        this.valueStarts(at);
        this.open(code === OPEN_OBJECT);
        at++;
      } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
        if (this.depth > 0) this.depth--;
        at++;
      } else if (code === QUOTE) {
        const end = stringEnd(text, at);
        if (frame?.isObject && frame.name === undefined) frame.name = memberName(text, at, end);
        else this.valueStarts(at);
        at = end;
      } else if (code === COMMA) {
        // After a comma comes an array's next element, or an object's next member name.
        if (frame?.isObject) frame.name = undefined;
        else if (frame) frame.index++;
        at++;
      } else if (code === COLON || isWhitespace(code)) {
        at++;
      } else {
        this.valueStarts(at);
        const end = Math.max(scalarEnd(text, at), at + 1);
        if (!this.exactNumbers && isNumberStart(code)) this.exactNumbers = !fitsDouble(text, at, end);
        at = end;
      }
    }
    return { repeated: this.repeated, exactNumbers: this.exactNumbers };
  }

  /** The path of the value about to be read: each open container's member or index. */
  private path(): PathSegment[] {
    const path: PathSegment[] = [];
    for (let depth = 0; depth < this.depth; depth++) path.push((this.frames[depth] as Frame).segment());
    return path;
  }

  /** Counts a value that starts at `at`, and notes it when it is a repeated member's. */
  private valueStarts(at: number): void {
    if (++this.values > this.limits.maxValues) throw new JsonLimitError(`more than ${this.limits.maxValues} JSON values`);
    const frame = this.depth > 0 ? this.frames[this.depth - 1] as Frame : undefined;
    if (!frame?.isObject) return;
    const name = frame.name ?? '';
    const first = frame.firstStart(name, at);
    if (first === -1) return;
    frame.repeated ??= new Map();
    let member = frame.repeated.get(name);
    if (!member) {
      member = { path: this.path(), starts: [first] };
      frame.repeated.set(name, member);
      this.repeated.push(member);
    }
    member.starts.push(at);
  }

  private open(isObject: boolean): void {
    if (this.depth >= this.limits.maxDepth) throw new JsonLimitError(`JSON nested deeper than ${this.limits.maxDepth} levels`);
    let frame = this.frames[this.depth];
    if (!frame) {
      frame = new Frame();
      this.frames.push(frame);
    }
    frame.open(isObject);
    this.depth++;
  }
}

/** What the text holds; throws a JsonLimitError past a limit, as soon as it is passed. */
export function scanJson(text: string, limits: JsonLimits): Scan {
  return new Scanner(text, limits).run();
}

/**
 * The text of a member of the root object (the last one when repeated, as JSON.parse reads it),
 * or undefined. The document must be JSON.
 */
export function memberText(text: string, name: string): string | undefined {
  let found: string | undefined;
  let at = text.indexOf('{') + 1;
  while (at > 0 && at < text.length) {
    const code = text.charCodeAt(at);
    if (code !== QUOTE) { at++; continue; }
    const nameEnd = stringEnd(text, at);
    const member = memberName(text, at, nameEnd);
    let start = text.indexOf(':', nameEnd) + 1;
    while (isWhitespace(text.charCodeAt(start))) start++;
    const end = valueEnd(text, start);
    if (member === name) found = text.slice(start, end);
    at = end;
  }
  return found;
}
