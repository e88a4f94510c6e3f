/*
 * Redaction of credentials from text that leaves the machine (the proposer's context goes to an
 * LLM provider). Over-redaction is cheap (the proposer loses a value it should not need); a leak is
 * not. Still, some look-alikes are kept on purpose because the proposer needs them:
 *
 *  - 40-character lower-case hex strings: git commit SHAs. They identify commits and are not
 *    secrets. (Any other hex run of 32 or more characters is redacted: MD5/SHA-256-shaped secrets,
 *    webhook secrets, hex API keys.)
 *  - UUIDs (8-4-4-4-12 hex): request, trace and row ids. A UUID used as a credential is still
 *    caught when it is assigned to a secret-looking key (`api_key=<uuid>`) or is the value of a
 *    secret-looking environment variable.
 *  - Long identifiers, paths and words: a run of 32+ characters is redacted as "high entropy"
 *    only when it mixes letters and digits, is not mostly made of word-like pieces
 *    (camelCase names and paths are), and its Shannon entropy is at least 4.2 bits per character
 *    (3.9 with a single letter case; random base64 is ~4.6+ at 32 characters). A random base64 secret of 32 characters slips
 *    through about once in a thousand (it happens to look word-like); longer ones less often.
 *
 * Rules, in order (each sees the output of the previous ones):
 *  1. values of secret-looking environment variables (names with KEY, SECRET, TOKEN, PASSWORD…),
 *     8 characters or longer, wherever they occur;
 *  2. private key blocks (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----), also
 *     an unterminated one, to the end of the text;
 *  3. passwords in URLs: `scheme://user:pass@host` keeps the user;
 *  4. Authorization headers and `Bearer …` / `Basic …` tokens (the scheme word is kept);
 *  5. well-known key formats: Anthropic/OpenAI `sk-…`, AWS `AKIA…`/`ASIA…`, GitHub `ghp_…` and
 *     friends, Slack `xox[bpoas]-…`, GitLab `glpat-…`, Google `AIza…`, Stripe `sk_live_…`;
 *  6. JWTs: three base64url parts, the first starting `eyJ` (a JSON header);
 *  7. assignments to secret-looking keys (`password=…`, `secret: …`, `"api_key": "…"`,
 *     `GITHUB_TOKEN=…`): the key and separator are kept, the value is redacted. Keys are split
 *     into words (snake, kebab, dotted, camelCase); one word must be a secret word, so `tokens`,
 *     `max_tokens` and `tokenizer` are not secrets but `access_token` is;
 *  8. long high-entropy strings (see above).
 */

export const REDACTED = '[REDACTED]';

const SECRET_ENV_NAME =
  /(KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|PASS|CREDENTIAL|AUTH|PRIVATE|DSN|SESSION|COOKIE|SIGNATURE|SALT)/i;
const MIN_ENV_VALUE = 8;

const PRIVATE_KEY_BLOCK =
  /-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)/g;

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*:)([^\s@/?#]+)(@)/gi;

const AUTH_HEADER =
  /\b(authorization["']?[ \t]*[:=][ \t]*["']?)(?:(bearer|basic|token|digest|negotiate)[ \t]+)?([^\s"',;]+)/gi;
const BEARER = /\b(bearer|basic)[ \t]+([A-Za-z0-9._~+/-]+=*)/gi;

const KEY_FORMATS: RegExp[] = [
  /\bsk-ant-[A-Za-z0-9_-]{8,}/g,
  /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g,
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bxox[bpoas]-[A-Za-z0-9-]{10,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
];

const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;

/** key and separator (closing quote of the key, `:` or `=`); the value is read after it. */
const KEY_SEP = /([A-Za-z_][A-Za-z0-9_.-]*)(["']?[ \t]*[:=][ \t]*)/g;
/** A quoted or bare value, read at the end of KEY_SEP. */
const VALUE = /"[^"\n]*"|'[^'\n]*'|[^\s"',;&}\])]+/y;
/** After `key:` (YAML, headers, logs) a bare value runs to the end of the line: `secret: two words`. */
const LINE_VALUE = /[^"'\s][^\n]*/y;
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'credential',
  'credentials',
  'auth',
  'cookie',
  'sessionid',
  'privatekey',
  'accesskey',
  'signingkey',
]);
/** Word pairs that are secret only together ("api key", "access key", "private key"). */
const SECRET_PAIRS = new Set([
  'api key',
  'access key',
  'private key',
  'secret key',
  'signing key',
  'client secret',
]);

const LONG_RUN = /[A-Za-z0-9+/_=-]{32,}/g;
const GIT_SHA = /^[0-9a-f]{40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-fA-F]+$/;
const MIN_ENTROPY = 4.2;
const MIN_ENTROPY_ONE_CASE = 3.9;
const WORDLIKE = 0.7;

export interface RedactOptions {
  /** Environment variables: values of those with secret-looking names are redacted verbatim. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Replace anything that looks like a credential with `[REDACTED]`. Idempotent. */
export function redact(text: string, options: RedactOptions = {}): string {
  return makeRedactor(options.env)(text);
}

/** A redactor with the environment's secret values compiled once (for many calls). */
export function makeRedactor(env?: Readonly<Record<string, string | undefined>>): (text: string) => string {
  const values = secretEnvValues(env ?? {});
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join(REDACTED);
    out = out.replace(PRIVATE_KEY_BLOCK, REDACTED);
    out = out.replace(URL_PASSWORD, `$1${REDACTED}$3`);
    out = out.replace(AUTH_HEADER, (_m, head: string, scheme: string | undefined) =>
      scheme ? `${head}${scheme} ${REDACTED}` : `${head}${REDACTED}`,
    );
    out = out.replace(BEARER, (m, scheme: string, token: string) =>
      looksLikeToken(token) ? `${scheme} ${REDACTED}` : m,
    );
    for (const re of KEY_FORMATS) out = out.replace(re, REDACTED);
    out = out.replace(JWT, REDACTED);
    out = redactAssignments(out);
    out = out.replace(LONG_RUN, (run) => (isHighEntropySecret(run) ? REDACTED : run));
    return out;
  };
}

/**
 * `key: value` / `key=value` with a secret-looking key: the value becomes [REDACTED]. A scan, not
 * one replace: a non-secret key's value is not consumed, so `url=https://h/?token=abc` still finds
 * the token.
 */
function redactAssignments(text: string): string {
  let out = '';
  let copied = 0;
  KEY_SEP.lastIndex = 0;
  for (let m = KEY_SEP.exec(text); m; m = KEY_SEP.exec(text)) {
    if (!isSecretKey(m[1]!)) continue;
    const at = m.index + m[0].length;
    // Already redacted by an earlier rule (a key format): leave it.
    if (text.startsWith(REDACTED, at) || text.startsWith(REDACTED, at + 1)) continue;
    VALUE.lastIndex = at;
    LINE_VALUE.lastIndex = at;
    const v = (m[2]!.includes(':') ? LINE_VALUE.exec(text) : null) ?? VALUE.exec(text);
    if (!v) continue;
    const value = v[0].replace(/[\s,;}\]]+$/, '');
    const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
    const inner = quote ? value.slice(1, -1) : value;
    if (inner.length === 0 || inner === REDACTED) continue;
    out += text.slice(copied, at) + quote + REDACTED + quote;
    copied = at + value.length;
    KEY_SEP.lastIndex = copied;
  }
  return out + text.slice(copied);
}

/** Whether an environment variable's name says its value is a secret. */
export function isSecretEnvName(name: string): boolean {
  return SECRET_ENV_NAME.test(name);
}

function secretEnvValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_ENV_VALUE || !isSecretEnvName(name)) continue;
    values.add(value);
  }
  // Longest first, so a value containing another is removed whole.
  return [...values].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
}

/** A bearer/basic credential rather than a word ("Bearer tokens are…"). */
function looksLikeToken(token: string): boolean {
  return (token.length >= 8 && /\d/.test(token)) || token.length >= 24 || /[+/=]/.test(token);
}

/** Split a key into lower-case words: `dbPassword` → db password, `GITHUB_TOKEN` → github token. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORDS.has(words[i]!)) return true;
    if (i + 1 < words.length && SECRET_PAIRS.has(`${words[i]} ${words[i + 1]}`)) return true;
  }
  return false;
}

function isHighEntropySecret(run: string): boolean {
  if (GIT_SHA.test(run) || UUID.test(run)) return false;
  if (HEX.test(run)) return shannonEntropy(run) >= 3;
  const lower = /[a-z]/.test(run);
  const upper = /[A-Z]/.test(run);
  if (!/\d/.test(run) || (!lower && !upper)) return false;
  if (wordCoverage(run) >= WORDLIKE) return false;
  // One letter case (e.g. lower-case base36 tokens) has a smaller alphabet, so less entropy.
  return shannonEntropy(run) >= (lower && upper ? MIN_ENTROPY : MIN_ENTROPY_ONE_CASE);
}

/**
 * Fraction of the characters in word-like runs (`Word`, `word`, 3+ lower-case letters): about 0.85
 * or more for camelCase names and paths, at most 0.63 for 999 of 1000 random base64 strings of 32
 * characters (measured over 20 000 samples), and less for longer ones.
 */
function wordCoverage(run: string): number {
  let covered = 0;
  for (const m of run.matchAll(/[A-Z]?[a-z]{3,}/g)) covered += m[0].length;
  return covered / run.length;
}

/** Bits per character of the string's own character distribution. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
