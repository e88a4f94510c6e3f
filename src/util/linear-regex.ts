import { RE2JS } from 're2js';

/*
 * Regular expressions that cannot stall kaizen: lesson scan rules (`scan.pattern`, `scan.unless`)
 * come from people, from the distiller's model and from peers, and run over the target's code. A
 * backtracking engine (JavaScript's RegExp) takes exponential time on patterns such as `(a+)+$`
 * against a line of `a`s ending in `!`; one such line stalled a Propose cycle for good (issue 18).
 *
 * Engine: re2js, the pure-JavaScript port of RE2 (Russ Cox's RE2/J, with a DFA). Matching time is
 * linear in the length of the line, whatever the pattern. Chosen over `re2` (native bindings to the
 * C++ RE2) because it has no native build and no install step that downloads a prebuilt binary: it
 * installs from the npm registry alone on every machine and CI, has no dependencies, and is fast
 * enough here (tens of MB/s for the shipped seed patterns).
 *
 * What RE2 cannot run is refused when a pattern is compiled, with a reason a person can act on:
 * lookahead and lookbehind (`(?=` `(?!` `(?<=` `(?<!`) and backreferences (`\1`, `\k<name>`), which
 * no linear-time engine can match. A negative lookahead on the rest of a line is what a scan rule's
 * `unless` pattern is for. Patterns are also bounded in length and in compiled size, so the cost of
 * one line (linear, with a factor that grows with the program) stays small.
 */

/** Longer patterns are refused: a scan pattern is a line of a lesson, not a program. */
export const MAX_PATTERN_CHARS = 1000;
/**
 * Larger compiled programs are refused. The shipped seed patterns compile to at most about 210
 * instructions; the time per character of a line grows with the program in the worst case.
 */
export const MAX_PROGRAM_SIZE = 2000;

/** A compiled pattern: `test` says whether it matches anywhere in the text, in linear time. */
export interface LinearRegex {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * A compiled pattern, or why it cannot be run, worded to follow the pattern's name: "the pattern
 * uses a lookahead …", "scan.unless is 1200 characters long …".
 */
export type Compiled = { ok: true; regex: LinearRegex } | { ok: false; reason: string };

/** Compiled patterns by source: lesson files are read and validated often, with the same patterns. */
const CACHE = new Map<string, Compiled>();
const CACHE_MAX = 2000;

/**
 * Compile `pattern` with RE2 semantics (no flags: `^` and `$` match at the ends of the text, as a
 * JavaScript RegExp without flags does; `(?i)` inside the pattern makes it case-insensitive).
 * Never throws: a pattern that cannot be run comes back with the reason.
 */
export function compileLinear(pattern: string): Compiled {
  const cached = CACHE.get(pattern);
  if (cached) return cached;
  const compiled = compile(pattern);
  if (CACHE.size >= CACHE_MAX) CACHE.clear();
  CACHE.set(pattern, compiled);
  return compiled;
}

function compile(pattern: string): Compiled {
  if (pattern.length > MAX_PATTERN_CHARS) {
    return {
      ok: false,
      reason: `is ${pattern.length} characters long, more than the ${MAX_PATTERN_CHARS} a scan pattern may have`,
    };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return { ok: false, reason: explainRefusal(pattern, err) };
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    return {
      ok: false,
      reason: `compiles to ${size} instructions, more than the ${MAX_PROGRAM_SIZE} allowed (large counted repetitions such as {500} cost the most): make it smaller`,
    };
  }
  return { ok: true, regex: { source: pattern, test: (text: string) => re.test(text) } };
}

/** Why RE2 refused a pattern: the construct by name when it is one RE2 lacks, else RE2's own words. */
function explainRefusal(pattern: string, err: unknown): string {
  const found = unsupportedConstruct(pattern);
  if (found) {
    const at = `"${found.text}" at character ${found.index + 1}`;
    const what = {
      lookahead: `uses a lookahead ${at}`,
      lookbehind: `uses a lookbehind ${at}`,
      backreference: `uses a backreference ${at}`,
    }[found.kind];
    const instead = {
      lookahead:
        'write what a matching line must not contain as the scan rule\'s "unless" pattern (a line that matches it is not a finding)',
      lookbehind:
        'match the character before explicitly, e.g. (^|[^\\w.]) for "not after a word character or a dot", or use "unless"',
      backreference: 'spell out the repeated text, or drop the scan rule',
    }[found.kind];
    return `${what}, which kaizen's linear-time regex engine (RE2) does not support: ${instead}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `is not valid in kaizen's linear-time regex engine (RE2 syntax): ${message.replace(/^error parsing regexp: /, '')}`;
}

export interface UnsupportedConstruct {
  kind: 'lookahead' | 'lookbehind' | 'backreference';
  /** The construct as written, e.g. `(?=` or `\1`. */
  text: string;
  /** 0-based offset in the pattern. */
  index: number;
}

/**
 * The first lookaround or backreference in a JavaScript-style pattern, outside character classes
 * and escapes, or undefined. Only used to explain a refusal: RE2 decides what it accepts.
 */
export function unsupportedConstruct(pattern: string): UnsupportedConstruct | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return { kind: 'backreference', text: `\\${next}`, index: i };
      if (!inClass && next === 'k' && pattern[i + 2] === '<') {
        const end = pattern.indexOf('>', i + 3);
        return {
          kind: 'backreference',
          text: end > 0 ? pattern.slice(i, end + 1) : '\\k<',
          index: i,
        };
      }
      i++; // whatever is escaped is not a construct
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal in both engines.
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const head = pattern.slice(i, i + 4);
      if (head.startsWith('(?=') || head.startsWith('(?!'))
        return { kind: 'lookahead', text: head.slice(0, 3), index: i };
      if (head === '(?<=' || head === '(?<!') return { kind: 'lookbehind', text: head, index: i };
    }
  }
  return undefined;
}
