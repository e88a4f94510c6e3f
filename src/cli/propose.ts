import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { recoverInterrupted } from '../apply/recover.js';
import { UsageError } from '../errors.js';
import { ProposalInvalidError, submitProposal } from '../loop/submit.js';
import { printJson, type Io } from './io.js';
import { person } from './person.js';
import { withRuntime } from './runtime.js';
import { renderSubmit } from './render.js';

export async function run(
  opts: { config?: string; file?: string; target?: string; by?: string; json?: boolean },
  io: Io,
): Promise<void> {
  if (!opts.file)
    throw new UsageError(
      'give the proposal with --file FILE (JSON or YAML); proposing by a model comes with the Propose stage',
    );
  let text: string;
  try {
    text = readFileSync(opts.file === '-' ? 0 : opts.file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--file ${opts.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = opts.file.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (err) {
    throw new UsageError(
      `--file ${opts.file}: not valid ${opts.file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const who = person(opts.by);
  const file = opts.file;
  await withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const targetName =
      opts.target ?? (rt.config.targets.length === 1 ? rt.config.targets[0]!.name : undefined);
    if (!targetName)
      throw new UsageError(
        `several targets are configured; say which with --target (${rt.config.targets.map((t) => t.name).join(', ')})`,
      );
    const result = await submitProposal(rt, {
      target: targetName,
      proposal: data,
      origin: who,
      actor: who,
    }).catch((err: unknown) => {
      // The file's content is bad input (exit 64), like a file that does not parse; not an internal failure (70).
      throw err instanceof ProposalInvalidError ? new UsageError(`--file ${file}: ${err.message}`) : err;
    });
    if (opts.json) return printJson(io, result);
    io.out(renderSubmit(result));
  });
}
