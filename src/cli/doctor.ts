import { KaizenError } from '../errors.js';
import { runDoctor } from '../loop/doctor.js';
import { printJson, type Io } from './io.js';
import { withRuntime } from './runtime.js';

export async function run(opts: { config?: string; json?: boolean }, io: Io): Promise<void> {
  await withRuntime(opts, async (rt) => {
    const report = await runDoctor(rt);
    if (opts.json) printJson(io, report);
    else {
      if (report.problems.length === 0)
        io.out(`doctor: all invariants hold over ${report.checked} intervention(s)`);
      else for (const p of report.problems) io.out(`${p.check}: ${p.problem}`);
      for (const n of report.notes) io.out(`note: ${n.note}`);
    }
    if (report.problems.length > 0) {
      throw new KaizenError('DOCTOR_FAILED', `doctor found ${report.problems.length} problem(s)`);
    }
  });
}
