/*
 * Text from outside kaizen (a model's proposal, a deploy's output, a log line, a lesson from a
 * peer) reaches a person's terminal, chat and git log. Control characters in it can rewrite what
 * the terminal shows (ANSI and OSC escapes, a carriage return that overwrites a line, C1 controls
 * some terminals obey) or make text read differently than it is (bidirectional overrides). Every
 * human output passes through `printable`: such characters are shown as escapes, visibly.
 *
 * The escapes are JSON's own (`\r`, `\u001b`), so JSON output stays valid JSON that decodes to the
 * same text, and the function can run over a whole line of JSON as well as over plain text.
 */

/** C0 controls except tab and newline, DEL, C1 controls, bidirectional embeddings and isolates. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
/** The same, with tab and newline: for text that must stay on one line. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_LINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\r': '\\r', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\t': '\\t' };
const escape = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with every control character shown as an escape; tabs and newlines are kept. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** `text` on one line: control characters, tabs and newlines shown as escapes. */
export function printableLine(text: string): string {
  return text.replace(UNSAFE_IN_LINE, escape);
}

/** Whether `text` holds a control character (tabs and newlines allowed unless `line`). */
export function controlCharacter(text: string, line = false): { char: string; at: number } | undefined {
  const m = new RegExp((line ? UNSAFE_IN_LINE : UNSAFE).source).exec(text);
  return m ? { char: m[0], at: m.index } : undefined;
}
