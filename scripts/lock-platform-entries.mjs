// `npm install` here leaves msgpackr-extract's prebuilt binaries for other platforms out of
// package-lock.json (the registry this machine reaches does not carry them), and `npm ci` then
// refuses the lock as out of sync. This puts their entries back; npm skips them on install by
// their os/cpu. Run it after any `npm install` that rewrites the lock: node scripts/lock-platform-entries.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import console from 'node:console';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const extract = lock.packages['node_modules/msgpackr-extract'];
if (!extract) process.exit(0);
const version = extract.version;
let added = 0;
for (const dep of Object.keys(extract.optionalDependencies ?? {})) {
  const key = `node_modules/${dep}`;
  const [os, cpu] = dep.replace('@msgpackr-extract/msgpackr-extract-', '').split('-');
  // linux-x64 and linux-arm64 are on the registry: npm ci resolves those itself.
  if (lock.packages[key] || (os === 'linux' && (cpu === 'x64' || cpu === 'arm64'))) continue;
  lock.packages[key] = { version, cpu: [cpu], license: 'MIT', optional: true, os: [os] };
  added++;
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock: ${added} platform entr${added === 1 ? 'y' : 'ies'} added`);
