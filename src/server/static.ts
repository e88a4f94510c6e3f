import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HttpError } from './errors.js';

/*
 * Serving files from one flat folder (the built dashboard) without ever leaving it, and the
 * Content-Security-Policy each kind of answer carries.
 */

/** Answers that are not pages (JSON, metrics, assets) may load and run nothing, even opened as one. */
export const NO_CONTENT_POLICY =
  "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The dashboard's pages: its own script and stylesheet, requests to its own API, nothing inline
 * and no other origin. Model-written text is shown on these pages, so an injected `<script>` or
 * `style` attribute must not run even if some rendering path failed to escape it.
 */
export const PAGE_CONTENT_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The weekly report is one self-contained file with its stylesheet inline and its charts as
 * inline SVG; it has no script, so none may run.
 */
export const REPORT_CONTENT_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Content types of the files the dashboard build writes; any other file is not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * A file name that stays in its folder: no separator and no leading dot, so neither `..` nor a
 * dotfile. Checked on the decoded name: `%2F` and `%2E%2E` arrive here already decoded.
 */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** The content type `name` is served with, or undefined when such files are not served. */
export function contentTypeOf(name: string): string | undefined {
  return CONTENT_TYPES[path.extname(name).toLowerCase()];
}

/**
 * Read `name` from the folder `dir`: a 404 for a name that could leave the folder, a type that is
 * not served, or a file that is not there, all with the same message, so probing learns nothing.
 */
export async function readStaticFile(dir: string, name: string): Promise<StaticFile> {
  const notFound = () => new HttpError(404, 'not_found', `no file ${JSON.stringify(name)} in the dashboard`);
  const contentType = contentTypeOf(name);
  if (!SAFE_NAME.test(name) || contentType === undefined) throw notFound();
  const root = path.resolve(dir);
  const file = path.join(root, name);
  // Belt and braces: the pattern above already rules out anything but a direct child.
  if (path.dirname(file) !== root) throw notFound();
  try {
    return { body: await readFile(file), contentType };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw notFound();
    throw err;
  }
}
