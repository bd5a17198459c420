// Extracts from the OCSF schema the classification facts Outrider's mappers use (class and category uids, activity,
// severity and status captions) into schemas/ocsf-catalog.json, so mappers take them from the schema, not from memory.
// Usage: node scripts/gen-ocsf-catalog.ts [SCHEMA_DIR] [--check]
//   --check exits 1 when the committed catalogue differs from what the schema gives (run by the test suite).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The classes Outrider emits. */
const CLASS_NAMES = [
  'base_event',
  'file_activity',
  'kernel_extension_activity',
  'process_activity',
  'event_log_activity',
  'detection_finding',
  'vulnerability_finding',
  'compliance_finding',
  'data_security_finding',
  'account_change',
  'authentication',
  'group_management',
  'network_activity',
  'http_activity',
  'application_lifecycle',
  'api_activity',
  'application_error',
  'scan_activity',
];

type Json = Record<string, unknown>;
type EnumMap = Record<string, { caption: string }>;

const args = process.argv.slice(2);
const check = args.includes('--check');
const schemaDir = resolve(
  args.find((a) => !a.startsWith('--')) ?? join(import.meta.dirname, '../../shared/ocsf-schema'),
);
const outFile = join(import.meta.dirname, '../schemas/ocsf-catalog.json');

const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;
const captions = (e: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((e ?? {}) as EnumMap).map(([k, v]) => [k, v.caption]));

const events = new Map<string, Json>();
for (const dir of ['.', ...readdirSync(join(schemaDir, 'events'))]) {
  const full = join(schemaDir, 'events', dir);
  if (dir !== '.' && !dir.includes('.')) {
    for (const f of readdirSync(full))
      if (f.endsWith('.json')) events.set(f.replace(/\.json$/, ''), readJson(join(full, f)));
  } else if (dir === '.') {
    events.set('base_event', readJson(join(schemaDir, 'events', 'base_event.json')));
  }
}
const categories = (readJson(join(schemaDir, 'categories.json')).attributes ?? {}) as Record<string, Json>;
const dictionary = (readJson(join(schemaDir, 'dictionary.json')).attributes ?? {}) as Record<string, Json>;

/** Activities a class lists, merged along its `extends` chain as the schema compiler does. */
function activities(name: string): Record<string, string> {
  const cls = events.get(name);
  if (!cls) throw new Error(`class ${name} not in schema`);
  const parent = typeof cls.extends === 'string' ? activities(cls.extends) : {};
  const own = captions((cls.attributes as Record<string, Json> | undefined)?.activity_id?.enum);
  return { ...parent, ...own };
}
function categoryOf(name: string): string | undefined {
  const cls = events.get(name);
  if (!cls) return undefined;
  return typeof cls.category === 'string'
    ? cls.category
    : typeof cls.extends === 'string'
      ? categoryOf(cls.extends)
      : undefined;
}

const classes: Record<string, unknown> = {};
for (const name of CLASS_NAMES) {
  const cls = events.get(name);
  if (!cls) throw new Error(`class ${name} not in schema`);
  const category = categoryOf(name);
  const cat = category ? categories[category] : undefined;
  const categoryUid = cat ? (cat.uid as number) : 0;
  const classUid = name === 'base_event' ? 0 : categoryUid * 1000 + (cls.uid as number);
  classes[name] = {
    class_uid: classUid,
    class_name: cls.caption,
    category_uid: categoryUid,
    category_name: cat ? cat.caption : 'Uncategorized',
    activities: activities(name),
  };
}
const catalog = {
  ocsf_version: (readJson(join(schemaDir, 'version.json')).version as string) ?? 'unknown',
  severity: captions(dictionary.severity_id?.enum),
  status: captions(dictionary.status_id?.enum),
  classes,
};
const text = `${JSON.stringify(catalog, null, 2)}\n`;
if (check) {
  const current = readFileSync(outFile, 'utf8');
  if (current !== text) {
    console.error(`${outFile} is out of date with ${schemaDir}: run node scripts/gen-ocsf-catalog.ts`);
    process.exit(1);
  }
  console.log('ocsf catalogue up to date');
} else {
  writeFileSync(outFile, text);
  console.log(`wrote ${outFile}`);
}
