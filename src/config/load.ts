import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { describeValue } from '../util/duration.js';
import { KaizenConfigInput, formatPath, resolveGitLocation, type KaizenConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'kaizen.yaml';

/** Where the config is: an explicit path, else $KAIZEN_CONFIG, else ./kaizen.yaml. */
export function resolveConfigPath(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  return path.resolve(cwd, explicit ?? env.KAIZEN_CONFIG ?? DEFAULT_CONFIG_FILE);
}

/** Read, parse and validate a config file. Throws ConfigError listing every problem with its line. */
export function loadConfig(configPath: string): KaizenConfig {
  const abs = path.resolve(configPath);
  if (!existsSync(abs)) {
    throw new ConfigError(
      'CONFIG_NOT_FOUND',
      `no config file at ${displayPath(abs)}: run "kaizen init" to write a starter config, or pass --config FILE`,
    );
  }
  return parseConfig(readFileSync(abs, 'utf8'), abs);
}

/** Validate config text; `configPath` names it in messages and anchors relative paths. */
export function parseConfig(text: string, configPath: string): KaizenConfig {
  const file = displayPath(configPath);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    // An error found at the end of the input (an unclosed quote or bracket) would point past the last line.
    const lastOffset = Math.max(0, text.trimEnd().length - 1);
    throw ConfigError.fromIssues(
      doc.errors.map((e) => ({
        file,
        line: lineCounter.linePos(Math.min(e.pos[0], lastOffset)).line,
        path: '',
        message:
          e.code === 'MULTIPLE_DOCS'
            ? 'YAML syntax: expected one document, got a second one (remove the "---" line)'
            : `YAML syntax: ${e.message.split('\n')[0]}`,
      })),
    );
  }

  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw ConfigError.fromIssues([
      { file, line: 1, path: '', message: `expected a mapping of settings, got ${describeValue(raw)}` },
    ]);
  }

  const result = KaizenConfigInput.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => toConfigIssues(issue, doc, lineCounter, file));
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw ConfigError.fromIssues(issues);
  }
  return normalise(result.data, configPath);
}

function normalise(input: KaizenConfigInput, configPath: string): KaizenConfig {
  const baseDir = path.dirname(path.resolve(configPath));
  const { target, signals, targets, dataDir, guard, lessonsDir, exchange, ...rest } = input;
  const list = targets ?? (target ? [{ ...target, signals: signals ?? [] }] : []);
  return {
    ...rest,
    guard: { ...guard, ...(guard.policy ? { policy: path.resolve(baseDir, guard.policy) } : {}) },
    configPath: path.resolve(configPath),
    dataDir: path.resolve(baseDir, dataDir),
    lessonsDir: lessonsDir ? path.resolve(baseDir, lessonsDir) : path.resolve(baseDir, dataDir, 'lessons'),
    exchange: {
      ...exchange,
      ...(exchange.repo ? { repo: resolveGitLocation(baseDir, exchange.repo) } : {}),
      keyDir: path.resolve(baseDir, exchange.keyDir ?? path.join(dataDir, 'keys')),
      outbox: path.resolve(baseDir, exchange.outbox ?? path.join(dataDir, 'outbox')),
    },
    targets: list.map((t) => ({
      ...t,
      repoPath: path.resolve(baseDir, t.repo),
      ...(t.guardPolicy ? { guardPolicy: path.resolve(baseDir, t.guardPolicy) } : {}),
    })),
  };
}

type ZodIssue = z.core.$ZodIssue;

function toConfigIssues(
  issue: ZodIssue,
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): ConfigIssue[] {
  const line = (p: readonly PropertyKey[]) => lineOf(doc, lineCounter, p);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const p = [...issue.path, key];
      return {
        file,
        line: line(p),
        path: formatPath(p),
        message: 'unknown key: remove it or check its spelling against the config reference in README.md',
      };
    });
  }
  return [{ file, line: line(issue.path), path: formatPath(issue.path), message: describeIssue(issue) }];
}

/** zod's own wording starts like this; any other message was written for this schema and is kept. */
const ZOD_DEFAULT = /^(Invalid\b|Too (big|small)\b)/;

function describeIssue(issue: ZodIssue): string {
  let input = 'input' in issue ? issue.input : undefined;
  const discriminated =
    issue.code === 'invalid_union' && 'discriminator' in issue && typeof input === 'object' && input !== null;
  if (discriminated) input = (input as Record<string, unknown>)[String(issue.discriminator)];
  const got =
    input === undefined && issue.code !== 'invalid_type' && !discriminated ? undefined : describeValue(input);
  if (!ZOD_DEFAULT.test(issue.message)) {
    return got !== undefined && issue.code !== 'custom' && !issue.message.includes(', got ')
      ? `${issue.message}, got ${got}`
      : issue.message;
  }
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required (expected ${article(issue.expected)})`;
      if (issue.input === null) return `is empty (expected ${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, got ${got}`;
    case 'invalid_value': {
      const opts = issue.values.map((v) => JSON.stringify(v));
      const list =
        opts.length === 2
          ? `${opts[0]} or ${opts[1]}`
          : opts.length === 1
            ? opts[0]
            : `one of ${opts.join(', ')}`;
      return `expected ${list}, got ${got}`;
    }
    case 'invalid_union': {
      // z.union([a, b]): name what each alternative expected, when each failed on the value's type.
      const expected = issue.errors.map((branch) => {
        const first = branch[0];
        if (branch.length !== 1 || first?.code !== 'invalid_type' || first.path.length !== 0)
          return undefined;
        return first.expected === 'boolean' ? 'true/false' : article(first.expected);
      });
      if (expected.length > 0 && expected.every((e) => e !== undefined)) {
        const list =
          expected.length === 2
            ? expected.join(' or ')
            : `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}`;
        return `expected ${list}, got ${got}`;
      }
      return `expected a different kind of value, got ${got}`;
    }
    case 'invalid_format':
      return `expected ${article(issue.format)}, got ${got}`;
    case 'too_small':
      if (issue.origin === 'array')
        return `expected at least ${issue.minimum} item(s), got ${arrayLength(issue.input)}`;
      if (issue.origin === 'string' && Number(issue.minimum) === 1)
        return `expected a non-empty string, got ${got}`;
      if (issue.origin === 'string') return `expected at least ${issue.minimum} character(s), got ${got}`;
      return `expected a number ${issue.inclusive ? '≥' : '>'} ${issue.minimum}, got ${got}`;
    case 'too_big':
      if (issue.origin === 'array')
        return `expected at most ${issue.maximum} item(s), got ${arrayLength(issue.input)}`;
      if (issue.origin === 'string') return `expected at most ${issue.maximum} character(s)`;
      return `expected a number ${issue.inclusive ? '≤' : '<'} ${issue.maximum}, got ${got}`;
    default:
      return got !== undefined ? `${issue.message}, got ${got}` : issue.message;
  }
}

function arrayLength(v: unknown): string {
  return Array.isArray(v) ? String(v.length) : describeValue(v);
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    record: 'a mapping',
    null: 'null',
    url: 'a URL',
  };
  return names[type] ?? type;
}

/** Line of the deepest YAML node that exists along the path (1-based). */
function lineOf(doc: Document, lineCounter: LineCounter, p: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = isNodeLike(node) ? node : undefined;
  for (const key of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (!pair) break;
      // The key's line: the path names the key, and a block value (a list, a mapping) starts on a later line.
      found = isNodeLike(pair.key) && pair.key.range ? pair.key : found;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (!isNodeLike(item)) break;
      found = item;
      node = item;
    } else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

function isNodeLike(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

export function displayPath(abs: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}
