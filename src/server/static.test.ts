import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { HttpError } from './errors.js';
import { contentTypeOf, readStaticFile } from './static.js';

/** A built dashboard folder, with a file beside it that must stay out of reach. */
function assets(): string {
  const root = tempDir('kaizen-static-');
  const dir = path.join(root, 'dashboard');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'app.js'), 'export {};\n');
  writeFileSync(path.join(dir, 'app.css'), 'body {}\n');
  writeFileSync(path.join(dir, 'icon.svg'), '<svg/>');
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(path.join(dir, '.secret.js'), 'hidden');
  mkdirSync(path.join(dir, 'folder.js'));
  writeFileSync(path.join(root, 'outside.js'), 'outside');
  return dir;
}

describe('readStaticFile', () => {
  it.each([
    ['app.js', 'text/javascript; charset=utf-8', 'export {};\n'],
    ['app.css', 'text/css; charset=utf-8', 'body {}\n'],
    ['icon.svg', 'image/svg+xml', '<svg/>'],
  ])('serves %s as %s', async (name, type, content) => {
    const file = await readStaticFile(assets(), name);

    expect(file.contentType).toBe(type);
    expect(file.body.toString()).toBe(content);
  });

  it.each([
    ['a missing file', 'nothing.js'],
    ['a type that is not served', 'index.html'],
    ['a name without an extension', 'app'],
    ['a dotfile', '.secret.js'],
    ['a parent folder', '..'],
    ['a path up and out', '../outside.js'],
    ['a path into a folder', 'sub/app.js'],
    ['a backslash path', '..\\outside.js'],
    ['an absolute path', '/etc/passwd.js'],
    ['a folder', 'folder.js'],
    ['an empty name', ''],
  ])('refuses %s with the same 404', async (_what, name) => {
    const err = (await readStaticFile(assets(), name).catch((e: unknown) => e)) as HttpError;

    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(404);
    expect(err.message).toBe(`no file ${JSON.stringify(name)} in the dashboard`);
  });

  it('knows the content type of each kind of file the build writes, and of nothing else', () => {
    expect(contentTypeOf('a.JS')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('a.png')).toBe('image/png');
    expect(contentTypeOf('a.map')).toBeUndefined();
    expect(contentTypeOf('a.html')).toBeUndefined();
  });
});
