import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { recoverInterrupted } from '../apply/recover.js';
import { selectTargets } from '../compose.js';
import { KaizenError, UsageError } from '../errors.js';
import { ProposalInvalidError, submitProposal } from '../loop/submit.js';
import { proposeCycle, type ProposeCycleResult } from '../propose/cycle.js';
import { formatTable, printJson, type Io } from './io.js';
import { submitExit, worstExit } from './outcome.js';
import { person } from './person.js';
import { renderSubmit } from './render.js';
import { withRuntime } from './runtime.js';

export interface ProposeOptions {
  config?: string;
  file?: string;
  dryRun?: boolean;
  target?: string;
  by?: string;
  json?: boolean;
}

/** Exits with the outcome of the proposal (or the most serious of a cycle's): see cli/outcome.ts. */
export async function run(opts: ProposeOptions, io: Io): Promise<number> {
  if (opts.file) return runFile(opts, opts.file, io);
  return withRuntime(opts, async (rt) => {
    if (!opts.dryRun) await recoverInterrupted(rt);
    const results: ProposeCycleResult[] = [];
    for (const target of selectTargets(rt.config, opts.target)) {
      results.push(await proposeCycle(rt, target, { dryRun: opts.dryRun ?? false }));
    }
    if (opts.json) printJson(io, results);
    else for (const r of results) io.out(renderCycle(r, opts.dryRun ?? false));
    return worstExit(results.flatMap((r) => r.submitted));
  });
}

function renderCycle(r: ProposeCycleResult, dryRun: boolean): string {
  const lines = [
    `== ${r.target}: ${r.provider.why}${r.provider.model ? ` (model ${r.provider.model})` : ''}`,
  ];
  if (r.context) {
    lines.push(`context: ${r.context.tokens} tokens (estimated), prompt ${r.prompt?.version ?? ''}`);
    lines.push(
      formatTable(
        ['SECTION', 'TOKENS', 'ITEMS', 'LEFT OUT'],
        r.context.sections.map((s) => [s.name, s.tokens, s.items, s.trimmed]),
      ),
    );
  }
  if (dryRun) {
    lines.push('', '--- prompt (nothing was sent) ---', r.prompt?.text ?? '');
    return lines.join('\n');
  }
  if (r.note) lines.push(`note: ${r.note}`);
  for (const n of r.notes) lines.push(`  ${n}`);
  if (r.submitted.length === 0 && r.invalid.length === 0) lines.push('no proposal this cycle');
  for (const s of r.submitted) lines.push(renderSubmit(s));
  for (const i of r.invalid) lines.push(`refused: ${i}`);
  return lines.join('\n');
}

async function runFile(opts: ProposeOptions, file: string, io: Io): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (err) {
    throw new UsageError(
      `--file ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const who = person(opts.by);
  return withRuntime(opts, async (rt) => {
    await recoverInterrupted(rt);
    const targetName =
      opts.target ?? (rt.config.targets.length === 1 ? rt.config.targets[0]!.name : undefined);
    if (!targetName) {
      throw new UsageError(
        `several targets are configured; say which with --target (${rt.config.targets.map((t) => t.name).join(', ')})`,
      );
    }
    let result;
    try {
      result = await submitProposal(rt, { target: targetName, proposal: data, origin: who, actor: who });
    } catch (err) {
      // A proposal that fails the schema is invalid data (exit 65), named by its file.
      if (err instanceof ProposalInvalidError)
        throw new KaizenError('PROPOSAL_INVALID', `--file ${file}: ${err.message}`);
      throw err;
    }
    if (opts.json) printJson(io, result);
    else io.out(renderSubmit(result));
    return submitExit(result);
  });
}
