import { writeAtomic } from '../util/atomic-file.js';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, isSeq, parseDocument, YAMLMap } from 'yaml';
import type { Node as YamlNode, Scalar } from 'yaml';
import { KaizenError } from '../errors.js';
import { parseJsonPath } from '../observe/sources/http-json.js';
import { MAX_CONTENT_BYTES, type Change } from '../propose/proposal.js';
import { resolveInRepo } from './workspace.js';

/*
 * File changes, in two steps: planChanges computes every file's new content without writing
 * anything (so a proposal that cannot apply fails before the repository is touched), writeEdits
 * then writes them atomically. restoreEdits puts the old contents back.
 */

/** An existing file larger than this is not something kaizen edits. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export class ChangeError extends KaizenError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CHANGE_NOT_APPLICABLE', message, options);
  }
}

/** One file's planned change: its content before (null: the file does not exist yet) and after. */
export interface FileEdit {
  rel: string;
  abs: string;
  before: string | null;
  after: string;
}

type FileChange = Exclude<Change, { kind: 'runbook' }>;

/**
 * The new content of every file the changes touch, in order of first mention. Several changes to
 * one file compose in order into one FileEdit. Reads files, writes nothing. Throws ChangeError
 * (or PathEscapeError) when any change cannot apply.
 */
export function planChanges(repoRoot: string, changes: Change[]): FileEdit[] {
  const files = new Map<
    string,
    { rel: string; abs: string; before: string | null; current: string | null }
  >();
  for (const change of changes) {
    if (change.kind === 'runbook') {
      throw new ChangeError(
        `runbook action "${change.action}" is not a file change; run it through the runbook, not planChanges`,
      );
    }
    const { abs, rel } = resolveInRepo(repoRoot, change.path);
    let file = files.get(rel);
    if (!file) {
      const before = readText(abs, rel, change.kind);
      file = { rel, abs, before, current: before };
      files.set(rel, file);
    }
    const next = applyOne(change, rel, file.current);
    if (next === file.current) throw new ChangeError(`${what(change, rel)}: the change makes no difference`);
    file.current = next;
  }
  const edits: FileEdit[] = [];
  for (const { rel, abs, before, current } of files.values()) {
    if (current === null || current === before) {
      throw new ChangeError(`the changes to ${rel} cancel out: the file would end exactly as it is now`);
    }
    edits.push({ rel, abs, before, after: current });
  }
  return edits;
}

function what(change: FileChange, rel: string): string {
  return `${change.kind} of ${rel}`;
}

function applyOne(change: FileChange, rel: string, current: string | null): string {
  switch (change.kind) {
    case 'edit':
      return applyEdit(change, rel, current);
    case 'write': {
      const bytes = Buffer.byteLength(change.content, 'utf8');
      if (bytes > MAX_CONTENT_BYTES) {
        throw new ChangeError(
          `write of ${rel}: the content is ${formatBytes(bytes)}, more than the limit of ${formatBytes(MAX_CONTENT_BYTES)}`,
        );
      }
      if (change.content.includes('\u0000')) {
        throw new ChangeError(`write of ${rel}: the content contains a NUL byte; kaizen writes only text`);
      }
      return change.content;
    }
    case 'config_set':
      try {
        return applyConfigSet(change, rel, current);
      } catch (err) {
        // A parser's own error (a YAML alias bomb: "Excessive alias count") is still a change
        // that does not apply, named by its file.
        if (err instanceof ChangeError) throw err;
        throw new ChangeError(`config_set of ${rel}: the file cannot be read as config: ${errText(err)}`, {
          cause: err,
        });
      }
  }
}

function applyEdit(change: Extract<Change, { kind: 'edit' }>, rel: string, current: string | null): string {
  if (current === null)
    throw new ChangeError(`edit of ${rel}: the file does not exist; use a write change to create it`);
  if (change.search === '') throw new ChangeError(`edit of ${rel}: the search text is empty`);
  const positions = occurrences(current, change.search);
  if (positions.length === 0) {
    const hint =
      current.includes('\r\n') && change.search.includes('\n') && !change.search.includes('\r\n')
        ? ' (the file has Windows line endings, \\r\\n, and the search text has plain \\n)'
        : '';
    throw new ChangeError(`edit of ${rel}: search text not found${hint}`);
  }
  if (positions.length > 1) {
    throw new ChangeError(
      `edit of ${rel}: search text occurs ${positions.length} times; it must be unique (add surrounding lines to the search text)`,
    );
  }
  const at = positions[0]!;
  // Slicing, not String.replace: `$&` and friends in the replacement are plain text.
  return current.slice(0, at) + change.replace + current.slice(at + change.search.length);
}

/** Every start position of `needle`, overlapping ones included ("aa" occurs twice in "aaa"). */
function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) found.push(i);
  return found;
}

// ---------------------------------------------------------------------------------------------
// config_set

type PathStep = { key: string } | { index: number };

function applyConfigSet(
  change: Extract<Change, { kind: 'config_set' }>,
  rel: string,
  current: string | null,
): string {
  const label = `config_set of ${rel}`;
  const ext = path.extname(rel).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw new ChangeError(
      `${label}: only .yaml, .yml and .json files can be set by key (this is "${ext || 'no extension'}"); use an edit change`,
    );
  }
  if (current === null) {
    throw new ChangeError(`${label}: the file does not exist; use a write change to create it`);
  }
  let steps: PathStep[];
  try {
    steps = parseJsonPath(change.key);
  } catch {
    throw new ChangeError(`${label}: key "${change.key}" is not a dotted path such as "worker.interval_ms"`);
  }
  const value: unknown = change.value;
  return ext === '.json'
    ? setJson(current, steps, value, label, change.key)
    : setYaml(current, steps, value, label, change.key);
}

const BOM = '\uFEFF';

function setJson(text: string, steps: PathStep[], value: unknown, label: string, key: string): string {
  const bom = text.startsWith(BOM) ? BOM : '';
  const body = text.slice(bom.length);
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    throw new ChangeError(`${label}: the file is not valid JSON (${errText(err)})`, { cause: err });
  }
  const expected = structuredClone(data);
  const old = setIn(expected, steps, value, label, key);

  // Preferred: replace just the old value's text, so the diff is one value and nothing else.
  if (old.existed && isScalarValue(old.value) && isScalarValue(value)) {
    const range = locateValue(body, steps);
    if (range) {
      const spliced = body.slice(0, range[0]) + JSON.stringify(value) + body.slice(range[1]);
      if (jsonEquals(spliced, expected)) return bom + spliced;
    }
  }

  // Otherwise re-serialise the whole file in its own style, provided that loses nothing.
  const eol = body.includes('\r\n') ? '\r\n' : '\n';
  const indent = detectIndent(body);
  const trailing = /\r?\n$/.test(body) ? eol : '';
  const render = (v: unknown) => {
    const json = JSON.stringify(v, null, indent);
    return (eol === '\n' ? json : json.replaceAll('\n', eol)) + trailing;
  };
  const lost = firstTokenDifference(body, render(data));
  if (lost) {
    throw new ChangeError(
      `${label}: rewriting the file would change more than "${key}" (${lost}); use an edit change instead`,
    );
  }
  return bom + render(expected);
}

/** Indentation of the first indented line: a tab, or that many spaces; none for one-line JSON. */
function detectIndent(text: string): string | number | undefined {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return text.trim().includes('\n') ? 2 : undefined;
  return m[1]!.startsWith('\t') ? '\t' : m[1]!.length;
}

function jsonEquals(text: string, expected: unknown): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(text), expected);
  } catch {
    return false;
  }
}

/**
 * JSON text without the whitespace between tokens; the first place two texts differ in it is
 * something a rewrite would change (a number's spelling such as 1.0, an escape, a big integer
 * JSON.parse cannot hold, a duplicate key, key order).
 */
function firstTokenDifference(original: string, rewritten: string): string | undefined {
  const a = squeeze(original);
  const b = squeeze(rewritten);
  if (a === b) return undefined;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const token = (t: string) => {
    let start = i;
    while (start > 0 && !'{}[],:'.includes(t[start - 1]!)) start--;
    let end = i;
    while (end < t.length && !'{}[],:'.includes(t[end]!)) end++;
    const text = t.slice(start, end);
    return text.length > 40 ? `${text.slice(0, 40)}…` : text || t.slice(start, start + 1);
  };
  return `${token(a)} would be written as ${token(b)}`;
}

function squeeze(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

/** The source range of the value at `steps`, found with the YAML parser (JSON is YAML). */
function locateValue(text: string, steps: PathStep[]): [number, number] | undefined {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) return undefined;
  let node: unknown = doc.contents;
  for (const step of steps) {
    if ('index' in step) {
      if (!isSeq(node)) return undefined;
      node = node.items[step.index];
    } else {
      if (!isMap(node)) return undefined;
      node = findPair(node, step.key)?.value;
    }
  }
  if (!isScalar(node) || !node.range) return undefined;
  return [node.range[0], node.range[1]];
}

function setYaml(text: string, steps: PathStep[], value: unknown, label: string, key: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0].line;
    throw new ChangeError(
      `${label}: the file is not valid YAML (${line === undefined ? '' : `line ${line}: `}${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')})`,
    );
  }
  const expected: unknown = structuredClone(doc.toJS());
  const old = setIn(expected, steps, value, label, key);

  // Preferred: replace just the old scalar's text, keeping every other byte of the file.
  const oldNode = old.existed ? yamlNodeAt(doc, steps) : undefined;
  if (isScalar(oldNode) && oldNode.range && isScalarValue(value)) {
    const rendered = renderYamlScalar(value, oldNode);
    if (rendered !== undefined) {
      const [start, end] = oldNode.range;
      const spliced = text.slice(0, start) + (start === end ? ` ${rendered}` : rendered) + text.slice(end);
      if (yamlEquals(spliced, expected)) return spliced;
    }
  }

  // Otherwise change the document tree and print it: comments survive, spacing may not.
  setInYamlDocument(doc, steps, value);
  const printed = doc.toString(yamlStyle(text));
  if (!yamlEquals(printed, expected)) {
    const why =
      isScalar(oldNode) && oldNode.anchor ? ` (it is anchored as &${oldNode.anchor} and used elsewhere)` : '';
    throw new ChangeError(
      `${label}: kaizen could not set "${key}" without changing other values${why}; use an edit change`,
    );
  }
  return printed;
}

/** Print options that follow the file's own style where it is easy to tell, to keep the diff small. */
function yamlStyle(text: string): { lineWidth: number; indentSeq: boolean; flowCollectionPadding: boolean } {
  // `key:\n- item` (list items not indented under their key) rather than `key:\n  - item`
  const indentSeq = !/^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(text);
  // `[a, b]` rather than `[ a, b ]`
  const flowCollectionPadding = /[[{] \S/.test(text) || !/[[{][^\s\]}]/.test(text);
  return { lineWidth: 0, indentSeq, flowCollectionPadding };
}

function renderYamlScalar(value: unknown, old: Scalar): string | undefined {
  const doc = new Document(value);
  if (
    typeof value === 'string' &&
    isScalar(doc.contents) &&
    (old.type === 'QUOTE_DOUBLE' || old.type === 'QUOTE_SINGLE')
  ) {
    doc.contents.type = old.type;
  }
  const text = doc.toString({ lineWidth: 0 }).replace(/\n$/, '');
  return text.includes('\n') ? undefined : text;
}

function yamlEquals(text: string, expected: unknown): boolean {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), expected);
}

function yamlNodeAt(doc: Document, steps: PathStep[]): unknown {
  let node: unknown = doc.contents;
  for (const step of steps) {
    if ('index' in step) node = isSeq(node) ? node.items[step.index] : undefined;
    else node = isMap(node) ? findPair(node, step.key)?.value : undefined;
  }
  return node;
}

function findPair(map: YAMLMap, key: string) {
  return map.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
}

function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** The same change as setIn, on the YAML tree; setIn has already checked that it applies. */
function setInYamlDocument(doc: Document, steps: PathStep[], value: unknown): void {
  if (isNullNode(doc.contents)) doc.contents = new YAMLMap();
  let node: unknown = doc.contents;
  steps.forEach((step, i) => {
    const last = i === steps.length - 1;
    if ('index' in step) {
      const seq = node as { items: unknown[] };
      const old = seq.items[step.index];
      if (last) seq.items[step.index] = replacement(doc, old, value);
      else node = old;
      return;
    }
    const map = node as YAMLMap;
    const pair = findPair(map, step.key);
    if (last) {
      if (pair) pair.value = replacement(doc, pair.value, value);
      else map.set(doc.createNode(step.key), doc.createNode(value));
    } else if (!pair || isNullNode(pair.value)) {
      const child = new YAMLMap();
      if (pair) pair.value = child;
      else map.set(doc.createNode(step.key), child);
      node = child;
    } else {
      node = pair.value;
    }
  });
}

/** A scalar replaced by a scalar keeps its node, and so its comments. */
function replacement(doc: Document, old: unknown, value: unknown): YamlNode {
  if (isScalar(old) && isScalarValue(value)) {
    old.value = value;
    if (typeof value !== 'string') old.type = undefined;
    delete old.format;
    return old;
  }
  return doc.createNode(value);
}

/**
 * Set `value` at `steps` in plain data, creating missing mappings; a list index must exist.
 * Returns what was there before.
 */
function setIn(
  root: unknown,
  steps: PathStep[],
  value: unknown,
  label: string,
  key: string,
): { existed: boolean; value: unknown } {
  if (root === null || root === undefined) {
    throw new ChangeError(`${label}: the file is empty; use a write change to give it content`);
  }
  let node: unknown = root;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if ('key' in step && step.key === '__proto__') {
      throw new ChangeError(`${label}: key "${key}" uses "__proto__", which kaizen does not set`);
    }
    const at = formatSteps(steps.slice(0, i));
    const last = i === steps.length - 1;
    if ('index' in step) {
      if (!Array.isArray(node)) {
        throw new ChangeError(`${label}: cannot set "${key}": ${at} is ${typeName(node)}, not a list`);
      }
      if (step.index >= node.length) {
        throw new ChangeError(
          `${label}: cannot set "${key}": ${at} has ${node.length} item(s), so there is no [${step.index}]`,
        );
      }
      if (last) {
        const before: unknown = node[step.index];
        node[step.index] = value;
        return { existed: true, value: before };
      }
      node = node[step.index];
      continue;
    }
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      throw new ChangeError(
        `${label}: cannot set "${key}": ${at} is ${typeName(node)}, not a mapping, so it has no key "${step.key}"`,
      );
    }
    const obj = node as Record<string, unknown>;
    const existed = Object.hasOwn(obj, step.key);
    if (last) {
      const before = obj[step.key];
      obj[step.key] = value;
      return { existed, value: before };
    }
    if (!existed || obj[step.key] === null) obj[step.key] = {};
    node = obj[step.key];
  }
  /* c8 ignore next */
  throw new ChangeError(`${label}: key "${key}" is empty`);
}

function isScalarValue(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function formatSteps(steps: readonly PathStep[]): string {
  let out = '';
  for (const s of steps) out += 'key' in s ? (out ? `.${s.key}` : s.key) : `[${s.index}]`;
  return out || 'the top level';
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v} (${JSON.stringify(v)})`;
}

// ---------------------------------------------------------------------------------------------
// Reading and writing

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The file's text, or null when it does not exist. Refuses folders, binary and oversized files. */
function readText(abs: string, rel: string, kind: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw new ChangeError(`${kind} of ${rel}: the file cannot be read: ${errText(err)}`, { cause: err });
  }
  if (st.isDirectory()) throw new ChangeError(`${kind} of ${rel}: it is a folder, not a file`);
  if (!st.isFile()) throw new ChangeError(`${kind} of ${rel}: it is not a regular file`);
  if (st.size > MAX_FILE_BYTES) {
    throw new ChangeError(
      `${kind} of ${rel}: the file is ${formatBytes(st.size)}; kaizen changes text files up to ${formatBytes(MAX_FILE_BYTES)}`,
    );
  }
  const bytes = fs.readFileSync(abs);
  if (bytes.includes(0)) {
    throw new ChangeError(
      `${kind} of ${rel}: it is a binary file (it contains NUL bytes); kaizen changes only text files`,
    );
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ChangeError(`${kind} of ${rel}: it is not UTF-8 text; kaizen changes only UTF-8 text files`);
  }
}

/** The current content for comparison (null: missing), without the planning limits. */
function currentContent(abs: string): string | null {
  try {
    return fs.readFileSync(abs, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Write the planned contents. Every path is resolved again right before writing (a link swapped in
 * after planning is refused), and every file must still hold the content it was planned from
 * (someone else's edit in the meantime is never overwritten). Each file is written atomically:
 * a temporary file in the same folder, fsync, rename. If one write fails, the files already
 * written are put back before the error is thrown.
 */
export function writeEdits(repoRoot: string, edits: FileEdit[]): void {
  const targets = edits.map((edit) => {
    const abs = reresolve(repoRoot, edit);
    const now = currentContent(abs);
    if (now !== edit.before) {
      const why =
        edit.before === null ? 'it now exists' : now === null ? 'it was deleted' : 'its content is different';
      throw new ChangeError(`${edit.rel} changed since the change was planned (${why}); nothing was written`);
    }
    return { edit, abs };
  });
  const written: FileEdit[] = [];
  for (const { edit, abs } of targets) {
    try {
      writeAtomic(abs, edit.after);
      written.push(edit);
    } catch (err) {
      let undo = '';
      try {
        restoreEdits(repoRoot, written);
      } catch (restoreErr) {
        undo = `; putting back the files already written also failed: ${errText(restoreErr)}`;
      }
      throw new ChangeError(`writing ${edit.rel} failed: ${errText(err)}${undo}`, { cause: err });
    }
  }
}

/**
 * Undo: put `before` back, or delete a file that did not exist. Files already as they were are left
 * alone, so it is safe to call on a partly written or an unwritten plan. Folders created for new
 * files are left in place (git does not track empty folders). Tries every file, then throws one
 * error naming each that failed.
 */
export function restoreEdits(
  repoRoot: string,
  edits: readonly Pick<FileEdit, 'rel' | 'abs' | 'before'>[],
): void {
  const failures: string[] = [];
  for (const edit of [...edits].reverse()) {
    try {
      const abs = reresolve(repoRoot, edit);
      const now = currentContent(abs);
      if (now === edit.before) continue;
      if (edit.before === null) fs.rmSync(abs, { force: true });
      else writeAtomic(abs, edit.before);
    } catch (err) {
      failures.push(`${edit.rel}: ${errText(err)}`);
    }
  }
  if (failures.length > 0) {
    throw new ChangeError(`could not restore ${failures.length} file(s): ${failures.join('; ')}`);
  }
}

function reresolve(repoRoot: string, edit: Pick<FileEdit, 'rel' | 'abs'>): string {
  const { abs, rel } = resolveInRepo(repoRoot, edit.rel);
  if (rel !== edit.rel || abs !== edit.abs) {
    throw new ChangeError(
      `planned edit of ${edit.rel} does not match the repository path ${rel}; nothing was written`,
    );
  }
  return abs;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
