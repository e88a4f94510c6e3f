import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, gitRepo } from '../../test/helpers/git.js';
import { gitReadOf, gitReads } from './git-reads.js';

/** A repo whose .git/config pulls work-tree files into git's configuration in every way git allows. */
function hostileRepo(): string {
  const repo = gitRepo({
    'conf/git.inc': '[alias]\n\tship = !./tools/ship.sh\n',
    'conf/nested.inc': '[core]\n\tsshCommand = "./tools/ssh-wrapper" -v\n',
    'tools/ship.sh': '#!/bin/sh\necho shipping\n',
    'tools/ssh-wrapper': '#!/bin/sh\nexec ssh "$@"\n',
    'src/app.js': 'export const a = 1;\n',
  });
  git(repo, 'config', 'include.path', '../conf/git.inc');
  // Included from an included file: relative to that file, not to .git.
  writeFileSync(
    path.join(repo, 'conf/git.inc'),
    '[alias]\n\tship = !./tools/ship.sh\n[include]\n\tpath = nested.inc\n',
  );
  // A conditional include whose condition does not hold today: a change could create the file or
  // make the condition true, so it counts all the same.
  git(repo, 'config', 'includeIf.onbranch:release.path', '../conf/release.inc');
  git(repo, 'config', 'core.hooksPath', 'githooks');
  git(repo, 'config', 'remote.origin.url', '../elsewhere.git');
  return repo;
}

describe('gitReads: the work-tree files git reads as configuration or runs', () => {
  it('finds included files (nested, conditional), files config values name, and the hooks folder', () => {
    const repo = hostileRepo();

    const reads = gitReads(repo);
    const by = (rel: string) => reads.find((r) => r.rel === rel);

    expect(by('conf/git.inc')?.why).toBe('git reads it as configuration (include.path in .git/config)');
    expect(by('conf/nested.inc')?.why).toBe('git reads it as configuration (include.path in conf/git.inc)');
    expect(by('conf/release.inc')?.why).toBe(
      'git reads it as configuration (includeif.onbranch:release.path in .git/config)',
    );
    expect(by('tools/ship.sh')?.why).toBe(
      'git’s alias.ship (in conf/git.inc) names it: git runs or reads it',
    );
    expect(by('tools/ssh-wrapper')?.why).toBe(
      'git’s core.sshcommand (in conf/nested.inc) names it: git runs or reads it',
    );
    expect(by('githooks')).toMatchObject({ dir: true });
    expect(by('.gitmodules')?.why).toMatch(/^git reads \.gitmodules as configuration/);
    expect(by('src/app.js')).toBeUndefined();
    // A remote's URL outside the repo is not a work-tree file.
    expect(reads.some((r) => r.rel.includes('elsewhere'))).toBe(false);
  });

  it('covers everything under a folder it names, in any letter case', () => {
    const repo = hostileRepo();
    mkdirSync(path.join(repo, 'githooks'));

    const reads = gitReads(repo);

    expect(gitReadOf(reads, 'githooks/pre-commit')?.rel).toBe('githooks');
    expect(gitReadOf(reads, 'CONF/Git.inc')?.rel).toBe('conf/git.inc');
    expect(gitReadOf(reads, 'githooksx/pre-commit')).toBeUndefined();
  });

  it('says which repository it could not ask', () => {
    const notARepo = path.join(gitRepo(), 'missing-folder');

    expect(() => gitReads(notARepo)).toThrow(/^could not read the git configuration of .*missing-folder: /);
  });
});
