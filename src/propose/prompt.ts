import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KaizenError } from '../errors.js';

/*
 * Versioned prompt templates: prompts/<name>.v<N>.md. A template has two parts, separated by a
 * line `<!-- user -->`: the system instructions above (static text) and the user message below,
 * with `{{variable}}` placeholders. The version string (e.g. "proposer.v1") is recorded with every
 * proposal, so an outcome can be traced to the prompt that produced it.
 *
 * The folder is found relative to this module: src/propose/ and dist/propose/ both sit two levels
 * below the package root, where prompts/ lives.
 */

export const PROMPTS_DIR = new URL('../../prompts/', import.meta.url);

const USER_MARKER = /^<!--\s*user\s*-->\s*$/m;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export interface Prompt {
  name: string;
  /** `<name>.v<N>`, e.g. `proposer.v1`. */
  version: string;
  /** The system instructions. */
  system: string;
  /** The variables the user part uses, sorted. */
  variables: string[];
  /** The user message with every `{{variable}}` replaced; a variable without a value is an error. */
  render(vars: Readonly<Record<string, string>>): string;
}

/** A template that leaves a `{{variable}}` without a value. */
export class PromptRenderError extends Error {
  readonly missing: string[];

  constructor(version: string, missing: string[]) {
    super(`prompt ${version} has no value for ${missing.map((m) => `{{${m}}}`).join(', ')}`);
    this.name = 'PromptRenderError';
    this.missing = missing;
  }
}

/**
 * Load prompts/<name>.v<version>.md, the highest version when none is given. Throws NOT_FOUND when
 * there is no such template, and a plain Error when the template is malformed.
 */
export function loadPrompt(name: string, version?: number, dir: URL | string = PROMPTS_DIR): Prompt {
  if (!NAME.test(name)) throw new KaizenError('NOT_FOUND', `"${name}" is not a prompt name`);
  const folder = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const n = version ?? highestVersion(folder, name);
  const file = `${folder.replace(/\/?$/, '/')}${name}.v${n}.md`;
  if (n === undefined || !existsSync(file)) {
    throw new KaizenError(
      'NOT_FOUND',
      `no prompt template ${name}${version === undefined ? '' : `.v${version}`} in ${folder}`,
    );
  }
  return parsePrompt(name, n, readFileSync(file, 'utf8'));
}

/** Parse a template's text (exported for tests). */
export function parsePrompt(name: string, n: number, raw: string): Prompt {
  const version = `${name}.v${n}`;
  const text = raw.replace(/\r\n/g, '\n');
  const marker = USER_MARKER.exec(text);
  if (!marker) throw new Error(`prompt ${version} has no "<!-- user -->" line between system and user parts`);
  const system = text.slice(0, marker.index).trim();
  const user = text.slice(marker.index + marker[0].length).trim();
  if (new RegExp(PLACEHOLDER.source).test(system)) {
    throw new Error(`prompt ${version}: the system part must not contain {{variables}}`);
  }
  const variables = [...new Set([...user.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();
  return {
    name,
    version,
    system,
    variables,
    render(vars) {
      const missing = variables.filter((v) => !Object.hasOwn(vars, v));
      if (missing.length > 0) throw new PromptRenderError(version, missing);
      // One pass over the template: a value that itself contains "{{x}}" is left as it is.
      return user.replace(PLACEHOLDER, (_m, key: string) => vars[key]!);
    },
  };
}

function highestVersion(folder: string, name: string): number | undefined {
  if (!existsSync(folder)) return undefined;
  let best: number | undefined;
  for (const entry of readdirSync(folder)) {
    const m = /^(.+)\.v(\d+)\.md$/.exec(entry);
    if (!m || m[1] !== name) continue;
    const n = Number(m[2]);
    if (best === undefined || n > best) best = n;
  }
  return best;
}
