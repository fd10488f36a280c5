/**
 * What PostgreSQL cannot hold, made into text it can. Its `text` refuses NUL (22021) and its
 * `jsonb` refuses the escape \u0000 (22P05) and the escape of a lone surrogate (22P02), all of
 * which a client or a side may send. Each is stored as the six characters of its escape, and the
 * caller marks the record, since such text can no longer be told from a body that sent those
 * six characters.
 */

/** What made storable, and whether anything in it had to be escaped. */
export interface Storable { readonly text: string; readonly escaped: boolean }

/** JSON text's escapes: an escaped backslash is matched as a whole, so that `\\u0000` (a backslash, then "u0000") is kept. */
const UNSTORABLE_ESCAPE = /\\(\\|u0000|ud[89a-f][0-9a-f]{2})/g;
/** A NUL, or a surrogate without its other half. */
const UNSTORABLE_CHARACTER = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escapeOf = (character: string) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Text of JSON.stringify, which writes a NUL and a lone surrogate only as \uXXXX escapes (in
 * lower case): such an escape becomes an escaped backslash and the rest, the escape's own text.
 */
export function storableJson(json: string): Storable {
  // Most records have none: a scan without a match is cheaper than a replace.
  if (!json.includes('\\u0000') && !/\\ud[89a-f]/.test(json)) return { text: json, escaped: false };
  let escaped = false;
  const text = json.replace(UNSTORABLE_ESCAPE, (whole, escape: string) => {
    if (escape === '\\') return whole;
    escaped = true;
    return `\\\\${escape}`;
  });
  return { text, escaped };
}

/** Text for a `text` column: NUL and lone surrogates written as their escapes. */
export function storableText(text: string): Storable {
  const storable = text.replace(UNSTORABLE_CHARACTER, escapeOf);
  return { text: storable, escaped: storable !== text };
}
