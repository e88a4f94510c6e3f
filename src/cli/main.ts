import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, exitCodeFor, KaizenError } from '../errors.js';
import { printable } from '../util/printable.js';
import { processIo, type Io } from './io.js';

/**
 * The one CLI entry point: declares every command (so `--help` works without loading them),
 * loads a command's module only when it runs, and maps errors and outcomes to exit codes in one
 * place (the table is EXIT in errors.ts).
 */
export async function main(argv: string[], raw: Io = processIo): Promise<number> {
  // Everything a person reads goes through printable: a title, a deploy's output or a log line
  // with terminal escapes in it is shown, never obeyed (util/printable.ts).
  const io: Io = { ...raw, out: (t) => raw.out(printable(t)), err: (t) => raw.err(printable(t)) };
  let outcome: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    if (typeof code === 'number') outcome = code;
  });
  try {
    await program.parseAsync(argv);
    return outcome;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof KaizenError) {
      io.err(`kaizen: ${err.message}`);
      return exitCodeFor(err);
    }
    // A bug: say so plainly. The stack is for the person who reports it, not for every user.
    const message = err instanceof Error ? err.message : String(err);
    io.err(
      `kaizen: internal error (a bug in kaizen, please report it): ${message}` +
        (process.env.KAIZEN_LOG_LEVEL === 'debug' && err instanceof Error && err.stack
          ? `\n${err.stack}`
          : '\n  (KAIZEN_LOG_LEVEL=debug shows where it happened)'),
    );
    return EXIT.internal;
  }
}

/** What a command's action returns: an outcome's exit code (EXIT), or nothing for 0. */
type Outcome = number | void;

const configOption = () =>
  new Option('-c, --config <file>', 'config file (default: $KAIZEN_CONFIG or ./kaizen.yaml)');
const jsonOption = () => new Option('--json', 'print JSON instead of a table');
const targetOption = () => new Option('-t, --target <name>', 'only this target (default: all)');

function buildProgram(io: Io, exitWith: (code: Outcome) => void): Command {
  const program = new Command('kaizen')
    .description('Watches a running system from the outside and improves it inside hard safety rails.')
    .version(packageVersion(), '-V, --version')
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // Wide enough that every command's summary stays on one line.
      getOutHelpWidth: () => Math.max(process.stdout.columns ?? 0, 120),
      getErrHelpWidth: () => Math.max(process.stderr.columns ?? 0, 120),
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('init')
    .description('write a commented starter kaizen.yaml for a target repository')
    .option('-r, --repo <dir>', 'the target git repository', '.')
    .addOption(configOption().default('kaizen.yaml'))
    .option('-f, --force', 'overwrite an existing config file')
    .action(async (opts) => (await import('./init.js')).run(opts, io));

  const config = program.command('config').description('work with the config file');
  config
    .command('check')
    .description('validate the config file and print what it configures')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./config-check.js')).run(opts, io));

  program
    .command('observe')
    .description('sample every signal once, store the samples and print them')
    .addOption(configOption())
    .addOption(targetOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./observe.js')).run(opts, io));

  program
    .command('status')
    .description('show each signal: last value, trend, alert state, errors')
    .addOption(configOption())
    .addOption(targetOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./status.js')).run(opts, io));

  program
    .command('signals')
    .description('print the stored series of one signal')
    .argument('<name>', 'signal name, or target/name when several targets have it')
    .option('-s, --since <duration>', 'how far back, e.g. 30m, 24h, 7d', '24h')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (name, opts) => (await import('./signals.js')).run(name, opts, io));

  const byOption = () =>
    new Option('--by <name>', 'the person acting (default: $KAIZEN_USER or your login name)');

  program
    .command('propose')
    .description(
      'one Propose cycle now (model or offline rules), through the guard; or a person’s proposal with --file',
    )
    .option(
      '-f, --file <file>',
      'a person’s proposal (JSON or YAML; - reads standard input) instead of a cycle',
    )
    .option(
      '--dry-run',
      'build the context and the prompt, print their size per section and the prompt; call nothing',
    )
    .addOption(targetOption())
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => exitWith(await (await import('./propose.js')).run(opts, io)));

  program
    .command('backlog')
    .description('list proposals waiting for a person or a free slot, and why each waits')
    .addOption(targetOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./backlog.js')).run(opts, io));

  program
    .command('approve')
    .description('approve a backlog item: it is guarded again and applied if it passes')
    .argument('<id>', 'intervention id, e.g. K0007')
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, opts) => exitWith(await (await import('./approve.js')).run(id, opts, io)));

  program
    .command('reject')
    .description('reject a backlog item, saying why')
    .argument('<id>', 'intervention id')
    .requiredOption('--why <reason>', 'why (kept with the intervention)')
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, opts) => (await import('./reject.js')).run(id, opts, io));

  program
    .command('revert')
    .description('undo an applied intervention: git revert, push, redeploy, probe')
    .argument('<id>', 'intervention id')
    .requiredOption('--why <reason>', 'why (kept with the intervention)')
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, opts) => (await import('./revert.js')).run(id, opts, io));

  program
    .command('validate')
    .description('judge applied interventions whose validation window has ended (or one by id)')
    .argument('[id]', 'intervention id (default: every one that is due)')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, opts) => (await import('./validate.js')).run(id, opts, io));

  program
    .command('show')
    .description('show one intervention’s decision chain: hypothesis, guard, SHAs, deploy, health, verdict')
    .argument('<id>', 'intervention id')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, opts) => (await import('./show.js')).run(id, opts, io));

  program
    .command('usage')
    .description('model calls and tokens per day, provider and model')
    .option('-s, --since <duration>', 'how far back', '7d')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./usage.js')).run(opts, io));

  // Its subcommands read options through optsWithGlobals: commander hands -c/--json given after a
  // subcommand to `lessons` itself, which declares them too.
  const lessons = program
    .command('lessons')
    .description(
      'list the lessons (shipped, distilled, added, imported), filtered by scope, status or source',
    )
    .option('--scope <scope>', 'only lessons with this scope')
    .option('--status <status>', 'only active or retired lessons')
    .option('--source <source>', 'only human, distilled or imported lessons')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./lessons.js')).list(opts, io));
  lessons
    .command('show')
    .description('show one lesson whole, with where its file is and the interventions that cited it')
    .argument('<id>', 'lesson id, e.g. L0007')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, _o, cmd: Command) =>
      (await import('./lessons.js')).show(id, cmd.optsWithGlobals(), io),
    );
  lessons
    .command('add')
    .description("validate a lesson file and add it to this system's lessons folder")
    .argument('<file>', 'a YAML lesson file')
    .option('--replace', 'replace a lesson with the same id')
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (file, _o, cmd: Command) =>
      (await import('./lessons.js')).add(file, cmd.optsWithGlobals(), io),
    );
  lessons
    .command('retire')
    .description('retire a lesson, saying why: it stops matching, and stays on file')
    .argument('<id>', 'lesson id')
    .requiredOption('--why <reason>', 'why it no longer applies (kept in the lesson)')
    .addOption(byOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (id, _o, cmd: Command) =>
      (await import('./lessons.js')).retire(id, cmd.optsWithGlobals(), io),
    );
  lessons
    .command('export')
    .description('sign lessons not yet exported (Ed25519) and write them to the outbox')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) =>
      (await import('./lessons-exchange.js')).exportLessons(cmd.optsWithGlobals(), io),
    );
  lessons
    .command('sync')
    .description("push the outbox to the shared git branch and import peers' lessons whose signatures verify")
    .addOption(configOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      [
        '',
        'Refused: an envelope that is unsigned, changed after signing, signed by a key not in',
        'exchange.trustedKeys, malformed or too large, older than the newest version of that lesson',
        'seen from its signer (a replay), signed as a version already seen with other content, or',
        "holding a lesson this kaizen cannot take (an id it has, a scan rule it cannot run).",
        '',
        'Exit codes: 0 everything on the branch was taken in or unchanged; 14 at least one envelope',
        'was refused (each with its reason above; what verified was still imported); 69 the shared',
        'repository could not be reached or pushed to; 78 bad config.',
      ].join('\n'),
    )
    .action(async (_o, cmd: Command) =>
      (await import('./lessons-exchange.js')).sync(cmd.optsWithGlobals(), io),
    );

  program
    .command('keys')
    .description('the Ed25519 key pair that signs exported lessons')
    .command('init')
    .description('make the key pair (refuses to overwrite one) and print the public key to share')
    .option('-f, --force', 'replace an existing key pair')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./keys.js')).init(opts, io));

  program
    .command('distill')
    .description('run the distiller now: turn finished interventions into lessons and retirements')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./distill.js')).run(opts, io));

  program
    .command('report')
    .description('write reports')
    .command('weekly')
    .description('write the weekly meta-review (HTML and Markdown) into the reports folder')
    .option('-w, --week <week>', 'ISO week such as 2026-W47 (default: the last complete week)')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./report.js')).weekly(opts, io));

  program
    .command('run')
    .description('the daemon: observe, propose, validate, distill and review on schedule until stopped')
    .option(
      '--time-scale <n>',
      'rehearse on a compressed clock: every schedule, window, budget day and nightly job N times sooner',
    )
    .addOption(configOption())
    .action(async (opts) => (await import('./run.js')).run(opts, io));

  program
    .command('worker')
    .description('an extra BullMQ worker: works the job queues `kaizen run` fills in Redis (needs redis.url)')
    .option('--concurrency <n>', 'jobs per queue at once in this process (default: redis.concurrency)')
    .addOption(configOption())
    .action(async (opts) => (await import('./worker.js')).run(opts, io));

  program
    .command('recover')
    .description(
      'finish or undo what a crash interrupted, push reverts the remote did not take, reject proposals never guarded (every applying command also does this first)',
    )
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./recover.js')).run(opts, io));

  program
    .command('doctor')
    .description('check kaizen’s invariants over the store and the target repos')
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts) => (await import('./doctor.js')).run(opts, io));

  program
    .command('demo')
    .description(
      'run the whole loop (kaizen run on a compressed clock) against a scratch copy of the bundled demo target, then leave its dashboard up until Ctrl-C',
    )
    .option('-d, --dir <dir>', 'where to put the scratch copy (default: a new temporary folder)')
    .option('--time-scale <n>', "how many times faster than real time kaizen's clock runs", '300')
    .option(
      '--window <duration>',
      "validation window on kaizen's clock; observe and propose intervals follow it",
      '1h',
    )
    .option('--port <n>', 'port of the dashboard on 127.0.0.1 (default: any free one)')
    .option('--exit', 'stop when the story ends instead of serving the dashboard until Ctrl-C')
    .option('--keep', 'leave the demo target running and its folder in place when done')
    .action(async (opts) => (await import('./demo.js')).run(opts, io));

  return program;
}

function packageVersion(): string {
  // src/cli and dist/cli both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
