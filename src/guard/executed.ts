import fs from 'node:fs';
import path from 'node:path';
import type { TargetConfig } from '../config/schema.js';

/*
 * The files in the target repo that kaizen itself runs, or that decide what runs: the deploy
 * command's script and the scripts it names, runbook actions and their inverses, `command` signal
 * scripts. A change to one of them is applied and then executed by kaizen's very next step (a
 * low-risk edit of `ship.sh` with `deploy.command: ['./ship.sh']`), so its risk floor is high:
 * it waits in the backlog for a person. Derived from the config, not from file names: the shipped
 * policy's name patterns (`**\/deploy*`, build files, CI) are a second net, not the first.
 */

export interface ExecutedFile {
  /** Repo-relative POSIX path. */
  rel: string;
  /** Why kaizen runs it, for the risk reason. */
  why: string;
}

/** Scripts named inside a script are followed this many levels deep, and at most this many files. */
const MAX_DEPTH = 3;
const MAX_FILES = 200;
/** A script larger than this is not read for the names of other scripts. */
const MAX_SCRIPT_BYTES = 256 * 1024;
const SCRIPT_EXT = /\.(sh|bash|zsh|ksh|fish|js|mjs|cjs|ts|mts|cts|py|rb|pl|php|lua|ps1|bat|cmd|mk)$/i;

/** Every file of the repo that the target's config makes kaizen run, with why. */
export function executedFiles(target: TargetConfig): ExecutedFile[] {
  const root = path.resolve(target.repoPath);
  const found = new Map<string, ExecutedFile>();
  const queue: { rel: string; depth: number }[] = [];
  const mark = (rel: string | undefined, why: string, depth: number) => {
    if (rel === undefined || found.has(rel) || found.size >= MAX_FILES) return;
    found.set(rel, { rel, why });
    queue.push({ rel, depth });
  };
  const argv = (words: readonly string[], cwd: string, why: string) => {
    for (const word of words) {
      if (word.startsWith('-') || word.includes('=')) continue; // a flag or a setting, not a file
      mark(inRepo(root, path.resolve(cwd, word)), why, 0);
    }
  };

  if (target.deploy) argv(target.deploy.command, root, 'the deploy command runs it');
  for (const [name, rb] of Object.entries(target.runbooks)) {
    argv(rb.command, root, `runbook ${name} runs it`);
    argv(rb.inverse, root, `runbook ${name}'s inverse runs it`);
  }
  for (const signal of target.signals) {
    const source = signal.source;
    if (source.kind !== 'command') continue;
    const words = typeof source.command === 'string' ? source.command.split(/\s+/) : source.command;
    argv(words, path.resolve(root, source.cwd ?? '.'), `signal ${signal.name} runs it`);
  }

  // The scripts those scripts name (`./lib/restart.sh` inside `ship.sh`) run too.
  for (let item = queue.shift(); item; item = queue.shift()) {
    if (item.depth >= MAX_DEPTH) continue;
    const text = readScript(path.join(root, item.rel));
    if (text === undefined) continue;
    for (const word of text.match(/[\w.@~+-]*[\w/.@~+-]+/g) ?? []) {
      if (!/[/.]/.test(word)) continue;
      for (const base of [path.dirname(path.join(root, item.rel)), root]) {
        const rel = inRepo(root, path.resolve(base, word));
        if (rel !== undefined && isScript(path.join(root, rel)))
          mark(rel, `${item.rel} names it, and ${found.get(item.rel)!.why}`, item.depth + 1);
      }
    }
  }
  return [...found.values()];
}

function inRepo(root: string, abs: string): string | undefined {
  const rel = path.relative(root, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/** A file worth reading for the names of others: a script by its extension, mode or first line. */
function isScript(abs: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  if (SCRIPT_EXT.test(abs) || /(^|\/)(Makefile|makefile|GNUmakefile|Justfile|justfile)$/.test(abs))
    return true;
  if (st.mode & 0o111) return true;
  return readScript(abs)?.startsWith('#!') ?? false;
}

function readScript(abs: string): string | undefined {
  try {
    const st = fs.statSync(abs);
    if (!st.isFile() || st.size > MAX_SCRIPT_BYTES) return undefined;
    return fs.readFileSync(abs, 'utf8');
  } catch {
    return undefined;
  }
}
