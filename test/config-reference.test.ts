// The config reference in README.md is generated from the zod schema (`npm run docs`). These tests
// fail when README.md is stale, and when a key of the schema is missing from the reference or has
// no description.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  REFERENCE_END,
  REFERENCE_START,
  extractReference,
  renderConfigReference,
  replaceReference,
} from '../src/config/reference.js';
import { KaizenConfigInput } from '../src/config/schema.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** Strip the wrappers that do not change which keys an object has. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (
      s instanceof z.ZodOptional ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodPrefault ||
      s instanceof z.ZodNullable
    ) {
      s = s.def.innerType as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else return s;
  }
}

interface FoundObject {
  /** Where it was found, e.g. `signals[].source`. */
  at: string;
  object: z.ZodObject;
  /** The key that picks this option of a discriminated union, if it is one. */
  discriminator?: string;
}

/** Every object reachable from the schema, found independently of the renderer. */
function allObjects(root: z.ZodType): FoundObject[] {
  const found: FoundObject[] = [];
  const seen = new Set<z.ZodType>();
  const walk = (schema: z.ZodType, at: string, discriminator?: string): void => {
    const s = unwrap(schema);
    if (seen.has(s)) return;
    seen.add(s);
    if (s instanceof z.ZodObject) {
      found.push({ at, object: s, discriminator });
      for (const [key, field] of Object.entries(s.shape as Record<string, z.ZodType>))
        walk(field, at ? `${at}.${key}` : key);
    } else if (s instanceof z.ZodArray) {
      walk(s.element as z.ZodType, `${at}[]`);
    } else if (s instanceof z.ZodRecord) {
      walk(s.valueType as z.ZodType, `${at}.*`);
    } else if (s instanceof z.ZodDiscriminatedUnion) {
      for (const option of s.options as z.ZodType[]) walk(option, at, s.def.discriminator);
    } else if (s instanceof z.ZodUnion) {
      for (const option of s.options as z.ZodType[]) walk(option, at);
    }
  };
  walk(root, '');
  return found;
}

function descriptionOf(field: z.ZodType): string | undefined {
  let s: z.ZodType | undefined = field;
  while (s) {
    if (s.description) return s.description;
    s =
      s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault
        ? (s.def.innerType as z.ZodType)
        : undefined;
  }
  return undefined;
}

interface DocSection {
  title: string;
  keys: Set<string>;
  rows: { key: string; cells: string[] }[];
}

/** Split the rendered Markdown into its `###` sections and their table rows (with inherited keys). */
function docSections(reference: string): DocSection[] {
  const sections = reference
    .split(/^### /m)
    .slice(1)
    .map((chunk): DocSection & { inherits?: string } => {
      const title = chunk.slice(0, chunk.indexOf('\n'));
      const rows = [...chunk.matchAll(/^\| `([^`]+)` \|(.*)\|$/gm)].map((m) => ({
        key: m[1]!,
        cells: m[2]!.split(/(?<!\\)\|/).map((c) => c.trim()),
      }));
      const inherits = /^Every key of `([^`]+)`, plus:$/m.exec(chunk)?.[1];
      return { title, rows, keys: new Set(rows.map((r) => r.key)), inherits };
    });
  for (const s of sections) {
    const parent = s.inherits && sections.find((p) => p.title === `\`${s.inherits}\``);
    if (s.inherits)
      expect(
        parent,
        `section "${s.title}" inherits from a section "${s.inherits}" that does not exist`,
      ).toBeTruthy();
    if (parent) for (const k of parent.keys) s.keys.add(k);
  }
  return sections;
}

describe('config reference in README.md', () => {
  it('is up to date with the schema', () => {
    const readme = readFileSync(README, 'utf8');
    const inReadme = extractReference(readme);
    expect(inReadme, `README.md has no ${REFERENCE_START} … ${REFERENCE_END} markers`).toBeDefined();
    expect(
      inReadme,
      'README.md\'s config reference is out of date with src/config/schema.ts: run "npm run docs"',
    ).toBe(renderConfigReference());
  });

  it('has every key of every object in the schema, each with a description', () => {
    const reference = renderConfigReference();
    const sections = docSections(reference);
    const objects = allObjects(KaizenConfigInput);
    // Every object the schema has (top level, target, signals[], six source kinds, alert, deploy, ...).
    expect(objects.length).toBeGreaterThanOrEqual(20);

    for (const { at, object, discriminator } of objects) {
      const keys = Object.keys(object.shape);
      const where = at || 'the top level';
      for (const [key, field] of Object.entries(object.shape as Record<string, z.ZodType>)) {
        if (key === discriminator) continue; // `kind: http-json` names the option; the reference says so itself
        expect(
          descriptionOf(field),
          `${where}.${key} has no description: add .describe() to it in src/config/schema.ts`,
        ).toBeTruthy();
      }
      const match = sections.find((s) => s.keys.size === keys.length && keys.every((k) => s.keys.has(k)));
      expect(
        match,
        `no table in the config reference lists exactly the keys of ${where}: ${keys.join(', ')}`,
      ).toBeDefined();
    }

    for (const s of sections) {
      for (const row of s.rows) {
        expect(
          row.cells,
          `row ${row.key} of "${s.title}" has a type, a default and a description`,
        ).toHaveLength(3);
        const [type, def, description] = row.cells;
        expect(type, `type of ${row.key} in "${s.title}"`).toBeTruthy();
        expect(def, `default of ${row.key} in "${s.title}"`).toBeTruthy();
        expect(description, `description of ${row.key} in "${s.title}"`).toBeTruthy();
      }
    }
  });

  it('points every "see `X`" at a section that exists', () => {
    const reference = renderConfigReference();
    const titles = docSections(reference).map((s) => s.title);
    const targets = [...reference.matchAll(/\(see `([^`]+)`\)/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(10);
    for (const t of targets) {
      expect(
        titles.some((title) => title === `\`${t}\`` || title.startsWith(`\`${t}\` with `)),
        `"see \`${t}\`" has no section`,
      ).toBe(true);
    }
  });

  it('lists enums as quoted alternatives and shows durations and defaults', () => {
    const reference = renderConfigReference();
    expect(reference).toContain(
      '| `direction` | "higher_is_better" \\| "lower_is_better" | *required* | which way is better |',
    );
    expect(reference).toContain('| `observe` | duration | `5m` | sample every signal this often |');
    expect(reference).toContain('| `port` | integer, 0 to 65535 | `7878` | port |');
    expect(reference).toContain(
      '| `confidence` | number, > 0.5 and < 1 | `0.98` | confidence level of the rank test |',
    );
    expect(reference).toContain('### `signals[].source` with `kind: log-count`');
  });

  it('refuses to render a key without a description', () => {
    const schema = z.strictObject({
      described: z.string().describe('has a description'),
      bare: z.number(),
    });
    expect(() => renderConfigReference(schema)).toThrow(
      'config reference: bare has no description; add .describe() to it in src/config/schema.ts',
    );
  });

  it('replaces only the text between the markers', () => {
    const readme = `# title\n\nbefore\n${REFERENCE_START}\nold\nstuff\n${REFERENCE_END}\nafter\n`;
    const updated = replaceReference(readme, 'new');
    expect(updated).toBe(`# title\n\nbefore\n${REFERENCE_START}\nnew\n${REFERENCE_END}\nafter\n`);
    expect(extractReference(updated)).toBe('new');
    expect(replaceReference(updated, 'new')).toBe(updated);
    expect(() => replaceReference('# no markers\n', 'new')).toThrow('README.md has no');
  });
});
