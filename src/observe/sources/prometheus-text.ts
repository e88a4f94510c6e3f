/*
 * The Prometheus text exposition format and PromQL-style series selectors, just enough of both to
 * read one number: `name{label="v",...} value [timestamp]` lines, and `name{a="b",c!="d",e=~"re"}`.
 * Written here rather than pulled in as a dependency because the format is small and stable.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestamp?: number;
}

/** A line that could not be read; the rest of the document is still used. */
export interface ParseProblem {
  line: number;
  message: string;
}

export interface PromDocument {
  samples: PromSample[];
  problems: ParseProblem[];
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  label: string;
  op: MatchOp;
  value: string;
  /** Whether a label value (empty string for an absent label, as in PromQL) satisfies this matcher. */
  matches(labelValue: string): boolean;
}

export interface MetricSelector {
  /** The metric name, when the selector starts with one. */
  name: string | undefined;
  matchers: LabelMatcher[];
}

/** A selector that cannot be parsed; the message says where and what was expected. */
export class SelectorSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorSyntaxError';
  }
}

/** Thrown by the scanner; callers turn it into a ParseProblem or a SelectorSyntaxError. */
class ScanError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const TOKEN = /\S+/y;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  eat(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  fail(message: string): never {
    throw new ScanError(message, this.pos + 1);
  }

  /** What is at the cursor, for "expected X, found Y" messages. */
  found(): string {
    return this.done ? 'the end' : JSON.stringify(this.text.slice(this.pos, this.pos + 10));
  }

  /** A quoted string starting at the cursor, with `\\`, `\"`, `\n` (and in PromQL `\t`, `\'`) escapes. */
  quoted(quotes: string): string {
    const q = this.peek();
    if (q === undefined || !quotes.includes(q)) this.fail(`expected a quoted string, found ${this.found()}`);
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) {
        this.pos = start;
        this.fail(`the string starting here is never closed with ${q}`);
      }
      if (c === q) return out;
      if (c === '\\' && q !== '`') {
        out += unescapeChar(this.text[this.pos++]);
      } else {
        out += c;
      }
    }
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'", '`': '`' };

/** An unknown escape keeps its backslash, so a regex such as "5\d\d" means what it says. */
function unescapeChar(c: string | undefined): string {
  if (c === undefined) return '\\';
  return ESCAPES[c] ?? `\\${c}`;
}

// ---- Exposition format ----------------------------------------------------------------------

/** Parse a text exposition. Comments (`# HELP`, `# TYPE`, `# EOF`) are skipped; bad lines are reported. */
export function parsePrometheusText(text: string): PromDocument {
  const samples: PromSample[] = [];
  const problems: ParseProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    try {
      samples.push(parseSampleLine(line));
    } catch (err) {
      if (!(err instanceof ScanError)) throw err;
      problems.push({ line: i + 1, message: `${err.message} (column ${err.column})` });
    }
  }
  return { samples, problems };
}

function parseSampleLine(line: string): PromSample {
  const s: Scanner = new Scanner(line);
  s.skipSpace();
  let name = s.match(METRIC_NAME);
  let labels: Record<string, string> = {};
  const afterName = s.pos;
  s.skipSpace();
  const hasLabels = s.eat('{');
  if (hasLabels) {
    const set = parseLabelSet(s);
    labels = set.labels;
    if (set.name !== undefined) {
      if (name !== undefined) s.fail(`metric name given twice ("${name}" and "${set.name}")`);
      name = set.name;
    }
  }
  if (name === undefined) s.fail(`expected a metric name, found ${s.found()}`);
  s.skipSpace();
  const valueStart = s.pos;
  const valueText = s.match(TOKEN);
  if (valueText === undefined || (!hasLabels && valueStart === afterName)) {
    s.fail(`expected a space and a value after the series, found ${s.found()}`);
  }
  const value = parseValue(valueText);
  if (value === undefined) s.fail(`expected a number, found ${JSON.stringify(valueText)}`);
  const sample: PromSample = { name, labels, value };
  s.skipSpace();
  if (!s.done && s.peek() !== '#') {
    const ts = s.match(TOKEN)!;
    if (!/^-?\d+$/.test(ts)) s.fail(`expected a timestamp in milliseconds, found ${JSON.stringify(ts)}`);
    sample.timestamp = Number(ts);
    s.skipSpace();
  }
  // Anything after a '#' is an OpenMetrics exemplar, which carries no value of its own.
  if (!s.done && s.peek() !== '#') s.fail(`unexpected ${s.found()} after the value`);
  return sample;
}

/** `{a="x",b="y"}` after the `{`; a bare quoted string is a UTF-8 metric name (Prometheus 3). */
function parseLabelSet(s: Scanner): { name: string | undefined; labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  let name: string | undefined;
  for (;;) {
    s.skipSpace();
    if (s.eat('}')) return { name, labels };
    const quotedKey = s.peek() === '"';
    const key = quotedKey ? s.quoted('"') : s.match(LABEL_NAME);
    if (key === undefined) s.fail(`expected a label name, found ${s.found()}`);
    s.skipSpace();
    if (quotedKey && (s.peek() === ',' || s.peek() === '}')) {
      name = key;
    } else {
      if (!s.eat('=')) s.fail(`expected "=" after label ${key}, found ${s.found()}`);
      s.skipSpace();
      labels[key] = s.quoted('"');
      s.skipSpace();
    }
    if (!s.eat(',') && s.peek() !== '}') s.fail(`expected "," or "}" after a label, found ${s.found()}`);
  }
}

const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A sample value as Go's strconv.ParseFloat reads it: decimals, exponents, ±Inf and NaN. */
export function parseValue(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (/^[+]?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  if (lower === 'nan') return NaN;
  return undefined;
}

// ---- Selectors ------------------------------------------------------------------------------

/**
 * Parse `name`, `name{a="b",c!="d",e=~"re",f!~"re"}` or `{__name__=~"re"}`. Regexes match the whole
 * label value, as in PromQL. Throws SelectorSyntaxError saying where the selector goes wrong.
 */
export function parseSelector(text: string): MetricSelector {
  const s: Scanner = new Scanner(text);
  try {
    s.skipSpace();
    let name = s.match(METRIC_NAME);
    const matchers: LabelMatcher[] = [];
    s.skipSpace();
    if (s.eat('{')) {
      for (;;) {
        s.skipSpace();
        if (s.eat('}')) break;
        const m = parseMatcher(s);
        if (typeof m === 'string') {
          if (name !== undefined) s.fail(`metric name given twice ("${name}" and "${m}")`);
          name = m;
        } else {
          matchers.push(m);
        }
        s.skipSpace();
        if (!s.eat(',') && s.peek() !== '}') {
          s.fail(`expected "," or "}" after a matcher, found ${s.found()}`);
        }
      }
    }
    s.skipSpace();
    if (!s.done) s.fail(`unexpected ${s.found()}`);
    if (name === undefined && matchers.length === 0) {
      s.fail('expected a metric name or at least one label matcher');
    }
    return { name, matchers };
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    throw new SelectorSyntaxError(
      `malformed metric selector ${JSON.stringify(text)}: ${err.message} (at character ${err.column}); ` +
        'expected e.g. http_requests_total{status=~"5..",method="GET"}',
    );
  }
}

/** One `label op "value"`, or a bare quoted metric name. */
function parseMatcher(s: Scanner): LabelMatcher | string {
  const quotedLabel = s.peek() === '"';
  const label = quotedLabel ? s.quoted('"') : s.match(LABEL_NAME);
  if (label === undefined) s.fail(`expected a label name, found ${s.found()}`);
  s.skipSpace();
  if (quotedLabel && (s.peek() === ',' || s.peek() === '}')) return label;
  const op = (['=~', '!~', '!=', '='] as const).find((o) => s.eat(o));
  if (op === undefined) s.fail(`expected "=", "!=", "=~" or "!~" after label ${label}, found ${s.found()}`);
  s.skipSpace();
  const at = s.pos + 1;
  const value = s.quoted(`"'\``);
  return makeMatcher(label, op, value, at);
}

function makeMatcher(label: string, op: MatchOp, value: string, column: number): LabelMatcher {
  if (op === '=') return { label, op, value, matches: (v) => v === value };
  if (op === '!=') return { label, op, value, matches: (v) => v !== value };
  let re: RegExp;
  try {
    // Anchored at both ends and with '.' matching newlines, as Prometheus compiles `^(?s:re)$`.
    re = new RegExp(`^(?:${value})$`, 's');
  } catch (err) {
    throw new ScanError(
      `invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`,
      column,
    );
  }
  return op === '=~'
    ? { label, op, value, matches: (v) => re.test(v) }
    : { label, op, value, matches: (v) => !re.test(v) };
}

export function selectorMatches(selector: MetricSelector, sample: PromSample): boolean {
  if (selector.name !== undefined && selector.name !== sample.name) return false;
  return selector.matchers.every((m) =>
    m.matches(m.label === '__name__' ? sample.name : (sample.labels[m.label] ?? '')),
  );
}

/** `{a="x", b="y"}` for messages; `{}` for a series without labels. */
export function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `{${parts.join(', ')}}`;
}

export function formatMatchers(matchers: readonly LabelMatcher[]): string {
  return `{${matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(', ')}}`;
}
