// `npm run bench`: runs every suite in bench/suites.ts and prints a table plus one JSON line per result.
// Usage: npm run bench [-- SUITE_NAME_SUBSTRING...]
import { SUITES } from './suites.ts';

const filters = process.argv.slice(2);
const rows: Array<{ suite: string; name: string; value: number; unit: string }> = [];
for (const load of SUITES) {
  const suite = await load();
  if (filters.length > 0 && !filters.some((f) => suite.suite.includes(f))) continue;
  process.stderr.write(`running ${suite.suite}…\n`);
  for (const r of await suite.run()) {
    rows.push({ suite: suite.suite, ...r });
    process.stdout.write(`${JSON.stringify({ suite: suite.suite, ...r })}\n`);
  }
}
process.stdout.write('\n| suite | measurement | value | unit |\n|---|---|---:|---|\n');
for (const r of rows) {
  process.stdout.write(
    `| ${r.suite} | ${r.name} | ${Number.isInteger(r.value) ? r.value : r.value.toFixed(2)} | ${r.unit} |\n`,
  );
}
