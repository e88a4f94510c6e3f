// Writes the config reference, rendered from the zod schema, into README.md between the
// `<!-- config-reference:start -->` and `<!-- config-reference:end -->` markers. Nothing else in
// README.md is touched. Run it with `npm run docs` after changing src/config/schema.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigReference, replaceReference } from '../src/config/reference.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

// Render first, then read, replace and write at once: others may be editing the rest of the file.
const reference = renderConfigReference();
const before = readFileSync(README, 'utf8');
const after = replaceReference(before, reference);
if (after === before) {
  console.log('README.md: config reference already up to date');
} else {
  writeFileSync(README, after);
  console.log('README.md: config reference updated');
}
