import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { PathEscapeError, resolveInRepo } from './workspace.js';

function repo(): string {
  const dir = tempDir('kaizen-ws-');
  fs.mkdirSync(path.join(dir, '.git'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'app.py'), 'print(1)\n');
  return dir;
}

function refusal(root: string, rel: string): PathEscapeError {
  try {
    resolveInRepo(root, rel);
  } catch (err) {
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as PathEscapeError).code).toBe('PATH_ESCAPE');
    return err as PathEscapeError;
  }
  throw new Error(`expected ${JSON.stringify(rel)} to be refused`);
}

describe('resolveInRepo', () => {
  it('normalises a path inside the repository', () => {
    const root = repo();
    expect(resolveInRepo(root, 'src/app.py')).toEqual({
      abs: path.join(root, 'src', 'app.py'),
      rel: 'src/app.py',
    });
    expect(resolveInRepo(root, './src//./app.py').rel).toBe('src/app.py');
    expect(resolveInRepo(root, 'src\\app.py').rel).toBe('src/app.py');
    expect(resolveInRepo(root, 'src/../README.md').rel).toBe('README.md');
    // New files and folders are fine.
    expect(resolveInRepo(root, 'new/dir/file.txt')).toEqual({
      abs: path.join(root, 'new', 'dir', 'file.txt'),
      rel: 'new/dir/file.txt',
    });
    // A name that merely starts with dots is not "..".
    expect(resolveInRepo(root, '..hidden/x').rel).toBe('..hidden/x');
  });

  it('refuses empty paths and NUL bytes', () => {
    const root = repo();
    expect(refusal(root, '').message).toBe(
      'path "" is refused: it is empty; expected a path inside the repository such as "src/app.py"',
    );
    expect(refusal(root, '  ').message).toContain('it is empty');
    expect(refusal(root, 'src/a\u0000b').message).toBe(
      'path "src/a\\u0000b" is refused: it contains a NUL byte',
    );
  });

  it('refuses absolute, drive and UNC paths', () => {
    const root = repo();
    expect(refusal(root, '/etc/passwd').message).toBe(
      'path "/etc/passwd" is refused: it is absolute; expected a path relative to the repository root',
    );
    expect(refusal(root, 'C:\\x').message).toBe(
      'path "C:\\\\x" is refused: it is a Windows drive path; expected a path relative to the repository',
    );
    expect(refusal(root, 'c:x').message).toContain('Windows drive path');
    expect(refusal(root, '\\\\server\\share').message).toBe(
      'path "\\\\\\\\server\\\\share" is refused: it is a network (UNC) path; expected a path relative to the repository',
    );
    expect(refusal(root, '\\etc\\passwd').message).toContain('it is absolute');
  });

  it('refuses paths that leave the repository', () => {
    const root = repo();
    expect(refusal(root, '../x').message).toBe(
      'path "../x" is refused: it leaves the repository (too many ".." segments)',
    );
    expect(refusal(root, 'a/../../x').message).toContain('it leaves the repository');
    expect(refusal(root, 'src\\..\\..\\x').message).toContain('it leaves the repository');
    expect(refusal(root, '.').message).toBe(
      'path "." is refused: it names the repository root itself, not a file in it',
    );
    expect(refusal(root, 'src/..').message).toContain('names the repository root itself');
  });

  it('refuses anything inside .git, at any depth and in any letter case', () => {
    const root = repo();
    const msg = 'it is inside a .git folder; kaizen never touches git internals';
    for (const p of [
      '.git/hooks/pre-commit',
      '.GIT/config',
      'sub/.git/x',
      '.git',
      'src/../.git/config',
      '.Git./x',
      'GIT~1/config',
    ]) {
      expect(refusal(root, p).message).toBe(`path ${JSON.stringify(p)} is refused: ${msg}`);
    }
    // .gitignore and .github are ordinary files.
    expect(resolveInRepo(root, '.gitignore').rel).toBe('.gitignore');
    expect(resolveInRepo(root, '.github/workflows/ci.yml').rel).toBe('.github/workflows/ci.yml');
  });

  it('refuses a symlinked folder that points outside, naming the link', () => {
    const root = repo();
    const outside = tempDir('kaizen-outside-');
    fs.symlinkSync(outside, path.join(root, 'escape'));
    expect(refusal(root, 'escape/passwd').message).toBe(
      `path "escape/passwd" is refused: escape is a symbolic link to ${fs.realpathSync(outside)}, outside the repository`,
    );
    expect(refusal(root, 'escape/deeper/new.txt').message).toContain('escape is a symbolic link to');
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('refuses a target that is a symlink to a file outside', () => {
    const root = repo();
    const outside = tempDir('kaizen-outside-');
    fs.writeFileSync(path.join(outside, 'secret'), 'x');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'src', 'config.yaml'));
    expect(refusal(root, 'src/config.yaml').message).toBe(
      `path "src/config.yaml" is refused: src/config.yaml is a symbolic link to ${fs.realpathSync(path.join(outside, 'secret'))}, outside the repository`,
    );
  });

  it('refuses a target that is a symlink even when it points inside', () => {
    const root = repo();
    fs.symlinkSync('app.py', path.join(root, 'src', 'alias.py'));
    expect(refusal(root, 'src/alias.py').message).toBe(
      'path "src/alias.py" is refused: src/alias.py is a symbolic link (to src/app.py); kaizen does not write through links: change src/app.py instead',
    );
  });

  it('refuses a path through a symlinked folder inside the repository', () => {
    const root = repo();
    fs.symlinkSync('src', path.join(root, 'lib'));
    expect(refusal(root, 'lib/app.py').message).toBe(
      'path "lib/app.py" is refused: lib is a symbolic link (to src); git cannot commit a path beyond a symbolic link: use the real path under src',
    );
  });

  it('refuses a dangling symlink', () => {
    const root = repo();
    fs.symlinkSync('/nonexistent/kaizen/target', path.join(root, 'dangling'));
    expect(refusal(root, 'dangling').message).toBe(
      'path "dangling" is refused: dangling is a symbolic link to /nonexistent/kaizen/target, which does not exist; kaizen does not write through links',
    );
    expect(refusal(root, 'dangling/x').message).toContain('dangling is a symbolic link');
  });

  it('refuses a path through a file, and into a nested repository', () => {
    const root = repo();
    expect(refusal(root, 'src/app.py/x').message).toBe(
      'path "src/app.py/x" is refused: src/app.py is a file, not a folder',
    );
    fs.mkdirSync(path.join(root, 'vendor', 'lib', '.git'), { recursive: true });
    expect(refusal(root, 'vendor/lib/x.c').message).toBe(
      'path "vendor/lib/x.c" is refused: vendor/lib is a separate git repository (it has its own .git); kaizen only changes files of the target repository itself',
    );
  });

  it('works when the repository itself is reached through a symlink', () => {
    const root = repo();
    const link = path.join(tempDir('kaizen-link-'), 'repo');
    fs.symlinkSync(root, link);
    expect(resolveInRepo(link, 'src/app.py')).toEqual({
      abs: path.join(link, 'src', 'app.py'),
      rel: 'src/app.py',
    });
  });
});
