import { z } from 'zod';
import { Duration } from '../util/duration.js';
import { KaizenConfigInput, Name } from './schema.js';

/*
 * The config reference in README.md, rendered from the zod schema so the two cannot drift:
 * `npm run docs` writes it between the config-reference markers, and test/config-reference.test.ts
 * fails when README.md is stale or when a key has no description.
 *
 * The schema is walked directly rather than through z.toJSONSchema: JSON Schema would flatten
 * durations, names and the source kinds into plain strings and unions.
 */

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

interface Section {
  /** How other tables refer to it, e.g. `target.deploy` or `signals[]`. */
  name: string;
  title: string;
  intro?: string;
  /** Rows shared with an earlier section whose keys this one repeats (targets[] repeats target). */
  inherits?: Section;
  /** Other places the same object appears (targets[].signals[] is signals[]). */
  alsoAt: string[];
  rows: Row[];
  object: z.ZodObject;
}

export const REFERENCE_START = '<!-- config-reference:start -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

/** The text between the markers (without the newlines right after the start and before the end marker). */
export function extractReference(readme: string): string | undefined {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END, start + REFERENCE_START.length);
  if (start < 0 || end < 0) return undefined;
  return readme
    .slice(start + REFERENCE_START.length, end)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

/** README text with the part between the markers replaced by `reference`; everything else is kept byte for byte. */
export function replaceReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END, start + REFERENCE_START.length);
  if (start < 0 || end < 0) {
    throw new Error(
      `README.md has no ${REFERENCE_START} … ${REFERENCE_END} markers to put the config reference between`,
    );
  }
  return `${readme.slice(0, start + REFERENCE_START.length)}\n${reference}\n${readme.slice(end)}`;
}

/**
 * Render the whole reference as Markdown (no trailing newline). It is wrapped in prettier-ignore
 * comments: prettier would re-align the tables and the README would no longer match.
 */
export function renderConfigReference(schema: z.ZodType = KaizenConfigInput): string {
  const sections = collectSections(schema);
  const out: string[] = ['<!-- prettier-ignore-start -->', LEGEND];
  for (const s of sections) {
    out.push('', `### ${s.title}`, '');
    const also = s.alsoAt.map((p) => `\`${p}\``).join(', ');
    const intro = [s.intro, also && `The same keys apply to ${also}.`].filter(Boolean).join(' ');
    if (intro) out.push(intro, '');
    if (s.inherits) out.push(`Every key of \`${s.inherits.name}\`, plus:`, '');
    out.push('| key | type | default | description |', '| --- | --- | --- | --- |');
    for (const r of s.rows) out.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${cell(r.description)} |`);
  }
  out.push('', '<!-- prettier-ignore-end -->');
  return out.join('\n');
}

const LEGEND = [
  '<!-- Generated from src/config/schema.ts by `npm run docs`: edit the schema, not this text. -->',
  '',
  '- **duration**: a string such as `500ms`, `30s`, `5m`, `1.5h`, `14d` or `2w`.',
  '- **name**: lower-case letters, digits and `_`, starting with a letter, at most 64 characters.',
  '- **URL**: an `http://` or `https://` URL.',
  '- Relative paths are relative to the config file, unless the description says otherwise.',
  '- A key marked *required* must be given; *optional* means it may be left out and has no default.',
].join('\n');

/** Walk the schema depth first: each object becomes a section, followed by the sections of its fields. */
function collectSections(schema: z.ZodType): Section[] {
  const sections: Section[] = [];
  const seen = new Map<z.ZodObject, Section>();

  const visit = (
    object: z.ZodObject,
    name: string,
    title: string,
    intro?: string,
    discriminator?: string,
  ): void => {
    const shape = object.shape as Record<string, z.ZodType>;
    // A section whose keys this one repeats with the very same schemas (targets[] entries repeat target).
    const inherits = sections.find((s) => {
      const earlier = Object.entries(s.object.shape as Record<string, z.ZodType>);
      return earlier.length > 0 && earlier.every(([k, v]) => shape[k] === v);
    });
    const section: Section = { name, title, intro, inherits, alsoAt: [], rows: [], object };
    sections.push(section);
    seen.set(object, section);

    const children: (() => void)[] = [];
    for (const [key, field] of Object.entries(shape)) {
      const path = name === '' ? key : `${name}.${key}`;
      const { type, children: next = [] } = describeType(field, path, seen);
      for (const child of next) children.push(() => visitChild(child));
      if (inherits?.object.shape[key] === field) continue;
      section.rows.push({
        key,
        type,
        default: describeDefault(field),
        description:
          key === discriminator
            ? `always ${type} for this kind of ${name.replace(/^.*\./, '')}`
            : describeField(field, path),
      });
    }
    for (const c of children) c();
  };

  const visitChild = (child: Child): void => {
    if (seen.has(child.object)) return;
    if (child.kind) {
      visit(
        child.object,
        child.name,
        `\`${child.name}\` with \`${child.discriminator}: ${child.kind}\``,
        child.intro,
        child.discriminator,
      );
    } else {
      visit(child.object, child.name, `\`${child.name}\``, child.intro);
    }
  };

  const top = asObject(schema);
  if (!top) throw new Error('config reference: the config schema is not an object');
  visit(top, '', 'Top level');
  return sections;
}

interface Child {
  object: z.ZodObject;
  name: string;
  intro?: string;
  /** For one option of a discriminated union: the discriminator key and this option's value. */
  discriminator?: string;
  kind?: string;
}

/** Type text of a field, and the object (or objects) it leads to, which get sections of their own. */
function describeType(
  field: z.ZodType,
  path: string,
  seen: Map<z.ZodObject, Section>,
): { type: string; children?: Child[] } {
  const intro = sentence(descriptionOf(field));
  const inner = unwrap(field);

  const object = asObject(inner);
  if (object) {
    const name = alias(seen, object, path) ?? path;
    return { type: `mapping (see \`${name}\`)`, children: [{ object, name, intro }] };
  }
  if (inner instanceof z.ZodArray) {
    const element = unwrap(inner.element as z.ZodType);
    const elementObject = asObject(element);
    if (elementObject) {
      const name = alias(seen, elementObject, `${path}[]`) ?? `${path}[]`;
      return {
        type: `list of mappings (see \`${name}\`)`,
        children: [{ object: elementObject, name, intro }],
      };
    }
    return { type: `list of ${plural(typeText(element))}` };
  }
  if (inner instanceof z.ZodRecord) {
    // A mapping of names to objects (runbooks): the object gets its own section.
    const valueObject = asObject(unwrap(inner.valueType as z.ZodType));
    if (valueObject) {
      const name = alias(seen, valueObject, `${path}.<name>`) ?? `${path}.<name>`;
      return {
        type: `mapping of ${typeText(inner.keyType as z.ZodType)} to mappings (see \`${name}\`)`,
        children: [{ object: valueObject, name, intro }],
      };
    }
  }
  if (inner instanceof z.ZodDiscriminatedUnion) {
    // Each option gets a section of its own; the field's description introduces the first.
    const discriminator = inner.def.discriminator;
    const options = (inner.options as z.ZodType[]).map((o) => asObject(o)!);
    return {
      type: `mapping (see \`${path}\`)`,
      children: options.map((object, i) => ({
        object,
        name: path,
        discriminator,
        kind: literalValue(object.shape[discriminator] as z.ZodType),
        intro: i === 0 ? intro : undefined,
      })),
    };
  }
  return { type: typeText(inner) };
}

/** Type text of a leaf (no object inside). */
function typeText(schema: z.ZodType): string {
  const s = unwrap(schema);
  if (s === Duration) return 'duration';
  if (sameChecks(s, Name)) return 'name';
  if (s instanceof z.ZodURL) return 'URL';
  if (s instanceof z.ZodString) return 'string';
  if (s instanceof z.ZodBoolean) return 'boolean';
  if (s instanceof z.ZodNull) return 'null';
  if (s instanceof z.ZodNumber) return numberText(s);
  if (s instanceof z.ZodEnum)
    return (s.options as (string | number)[]).map((o) => JSON.stringify(o)).join(' \\| ');
  if (s instanceof z.ZodLiteral) return [...s.values].map((v) => JSON.stringify(v)).join(' \\| ');
  if (s instanceof z.ZodArray) return `list of ${plural(typeText(s.element as z.ZodType))}`;
  if (s instanceof z.ZodRecord)
    return `mapping of ${typeText(s.keyType as z.ZodType)} to ${typeText(s.valueType as z.ZodType)}`;
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).map(typeText).join(' \\| ');
  throw new Error(`config reference: no type text for a ${s.def.type} schema`);
}

function numberText(s: z.ZodNumber): string {
  let min: { value: number; inclusive: boolean } | undefined;
  let max: { value: number; inclusive: boolean } | undefined;
  let int = false;
  for (const check of s.def.checks ?? []) {
    const d = check._zod.def as { check: string; value?: unknown; inclusive?: boolean; format?: string };
    if (d.check === 'number_format' && (d.format === 'safeint' || d.format === 'int32')) int = true;
    if (d.check === 'greater_than') min = { value: Number(d.value), inclusive: d.inclusive ?? true };
    if (d.check === 'less_than') max = { value: Number(d.value), inclusive: d.inclusive ?? true };
  }
  const base = int ? 'integer' : 'number';
  if (min && max && min.inclusive && max.inclusive) return `${base}, ${min.value} to ${max.value}`;
  const bounds = [
    min && `${min.inclusive ? '≥' : '>'} ${min.value}`,
    max && `${max.inclusive ? '≤' : '<'} ${max.value}`,
  ].filter(Boolean);
  return bounds.length ? `${base}, ${bounds.join(' and ')}` : base;
}

function describeDefault(field: z.ZodType): string {
  let s: z.ZodType = field;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault)
      return `\`${formatDefault(s.def.defaultValue)}\``;
    if (s instanceof z.ZodOptional) return '*optional*';
    if (s instanceof z.ZodNullable || s instanceof z.ZodReadonly) s = s.def.innerType as z.ZodType;
    else if (s instanceof z.ZodPipe && s !== Duration) s = s.in as z.ZodType;
    else return '*required*';
  }
}

function formatDefault(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An object already given a section elsewhere: note this path there, and refer to that section. */
function alias(seen: Map<z.ZodObject, Section>, object: z.ZodObject, path: string): string | undefined {
  const section = seen.get(object);
  if (section && !section.alsoAt.includes(path)) section.alsoAt.push(path);
  return section?.name;
}

function describeField(field: z.ZodType, path: string): string {
  const text = descriptionOf(field);
  if (text === undefined) {
    throw new Error(
      `config reference: ${path} has no description; add .describe() to it in src/config/schema.ts`,
    );
  }
  // "(default 5m)" and "(cron, in timeZone; default "0 3 * * *")" repeat the default column; longer remarks
  // such as "(default false: start at its end, like tail -F)" stay.
  const def = describeDefault(field).replaceAll('`', '');
  for (const [suffix, keep] of [
    [` (default ${def})`, ''],
    [`; default ${JSON.stringify(def)})`, ')'],
  ] as const) {
    if (text.endsWith(suffix)) return text.slice(0, -suffix.length) + keep;
  }
  return text;
}

/** The description of a field: on the outermost schema, or on a wrapped one. */
function descriptionOf(field: z.ZodType): string | undefined {
  let s: z.ZodType | undefined = field;
  while (s) {
    if (s.description) return s.description;
    s =
      s instanceof z.ZodOptional ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault ||
      s instanceof z.ZodNullable
        ? (s.def.innerType as z.ZodType)
        : undefined;
  }
  return undefined;
}

/** Strip optional/default/prefault/nullable, and a transform's pipe (but not a Duration: that is a type of its own). */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault ||
      s instanceof z.ZodNullable ||
      s instanceof z.ZodReadonly
    ) {
      s = s.def.innerType as z.ZodType;
    } else if (s instanceof z.ZodPipe && s !== Duration && s.out instanceof z.ZodTransform) {
      s = s.in as z.ZodType;
    } else return s;
  }
}

function asObject(schema: z.ZodType): z.ZodObject | undefined {
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? s : undefined;
}

function literalValue(schema: z.ZodType): string {
  const s = unwrap(schema);
  if (!(s instanceof z.ZodLiteral))
    throw new Error('config reference: a discriminator that is not a literal');
  return String([...s.values][0]);
}

/** `.describe()` clones a schema but keeps its definition, so a described Name still has Name's checks. */
function sameChecks(a: z.ZodType, b: z.ZodType): boolean {
  return a.def.type === b.def.type && a.def.checks !== undefined && a.def.checks === b.def.checks;
}

function plural(type: string): string {
  return /^[a-z]+$/.test(type) ? `${type}s` : `(${type})`;
}

function sentence(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const s = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Escape a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}
