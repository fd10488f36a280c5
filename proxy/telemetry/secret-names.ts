/**
 * The names whose values the store never keeps unless told to (`store.redact.keep`): as a query
 * parameter, a form field, a JSON member at any depth, or a header. The list errs on the side of
 * hiding, because a credential in the store cannot be called back from its backups and the
 * reviewers' clipboards, while a field hidden wrongly costs one line of configuration.
 */

/** Request and response headers that are credentials: never stored, whatever the configuration says. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

/**
 * How names are compared: in lower case without `-` and `_`, so that `API_KEY`, `api-key` and
 * `apiKey` are one name.
 */
export function foldName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Secret as whole names only: short words that would match too much inside longer ones
 * (`pan` in `company`, `sig` in `design`, `auth` in `author`). Left out on purpose: `key` (sort
 * keys, S3 object keys, i18n keys) and `code` (status and product codes), far more often data
 * than credentials; add them with `store.redact.query` or `.pointers` where they are secrets.
 */
export const SECRET_WHOLE_NAMES: readonly string[] = [
  'pwd', 'pass', 'pin', 'otp',
  'auth', 'authorization', 'credential', 'credentials', 'jwt', 'bearer',
  'signature', 'sig', 'hmac',
  'session', 'sessionid', 'sid', 'jsessionid', 'phpsessid',
  'accesskey', 'cookie',
  'cardnumber', 'ccnumber', 'creditcard', 'creditcardnumber', 'pan', 'cvv', 'cvv2', 'cvc', 'cvc2', 'securitycode',
  'ssn',
];

/**
 * Secret wherever they occur in a name: `newPassword`, `client_secret`, `refresh_token`,
 * `x-csrf-token`, `X-Goog-Api-Key`. `token` takes pagination tokens too (`nextPageToken`):
 * `store.redact.keep` gives one back.
 */
export const SECRET_NAME_PARTS: readonly string[] = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'privatekey'];

const WHOLE_NAMES: ReadonlySet<string> = new Set(SECRET_WHOLE_NAMES);
const PART_PATTERN = new RegExp(SECRET_NAME_PARTS.join('|'));

/** Whether the defaults redact a name (folded with foldName). */
export function isSecretName(folded: string): boolean {
  return WHOLE_NAMES.has(folded) || PART_PATTERN.test(folded);
}
