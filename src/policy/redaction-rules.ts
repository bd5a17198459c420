// The built-in redaction rules: secrets that must never leave the host in clear, whatever the input. A rule's
// `pattern` matches the secret with the context that finds it (`--password=`), and only the secret is masked, so
// the event still says *that* a password was passed, never *which*. docs/policy.md lists them; config can disable
// any by name (`redaction.disable`) and add its own (`redaction.rules`).
//
// Every pattern here runs in time linear in the text (test/policy/linear-time.test.ts times each on crafted input),
// because each starts with a literal keyword and what it matches around the keyword is either bounded (white space
// between a key and its value: at most 64 characters; a key's prefix: at most 128) or cannot fail once started.
// No lookbehind before the keyword, no unbounded run that can fail: those are retried at every position of the text
// (a 100 KB line of a keyword and dashes took 13 s).
import { shellQuote } from '../ocsf/mappers/common.ts';
import { maskCommandLine, PROGRAM_NAMES } from './command-line.ts';

/** The name (for `redaction.disable` and in `outrider_redactions`) of masking values of keys named like secrets. */
export const SECRET_FIELD_RULE = 'secret_field_name';

/** What replaces a masked secret. */
export const MASK = '***';

export interface RedactionRule {
  name: string;
  description: string;
  /**
   * Matches a secret with its context: with two capturing groups, the first is context kept before the secret, the
   * second the secret (masked), and the rest of the match is kept; without groups the whole match is masked. Global
   * flag set when compiled.
   */
  pattern: RegExp;
  /**
   * Literal words (matched ignoring case), one of which every match of `pattern` contains. All rules' keywords make
   * one combined scan that decides whether a string needs any per-rule work: the hot path for clean text.
   */
  keywords: string[];
  /**
   * A necessary condition of `pattern` matching any text JSON-unescaped (at any depth) from a record, tested on the
   * record itself, lower-cased (Redactor.cleanByRaw): so written in lower case, without flags (case-sensitive scans
   * of a lower-cased copy are ~3× faster than case-insensitive ones). Where the pattern needs a quote or white space,
   * the record may hold it escaped (`\"`, `\n`, `\\t`…). The caller walks records with `\u` or `\/` escapes, which
   * can spell anything. Absent (config rules): no record is cleared without a walk.
   */
  rawHint?: RegExp;
  /** A cheap necessary condition of `pattern` on a text, tested before it where the pattern is slow to scan. */
  hint?: RegExp;
  /** Replaces the whole match with what the function returns, instead of the mask (see auditd_hex_value). */
  replace?: (match: string, redactText: (text: string) => string) => string;
  /** Dotted field paths the rule is limited to (config rules only); absent: every string field. */
  fields?: string[];
}

// Key names (in `key=value`, `"key": "value"`, `--key value`) whose value is a secret: an optional prefix of words
// joined by `-` or `_`, then one of these.
const SECRET_KEY_END =
  '(?:password|passwd|passphrase|secret(?:[-_]?(?:key|id))?|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|credentials?)';
const SECRET_KEY = `(?:[a-z0-9]+[-_])*${SECRET_KEY_END}`;
/**
 * A secret key name, found by its last word (a literal, so only where that word stands is the rest tried), its
 * prefix checked by a lookbehind bounded to 128 characters.
 */
const SECRET_KEY_AT = (before: string) => `${SECRET_KEY_END}(?<=${before}(?:[a-z0-9_-]{0,127}[-_])?${SECRET_KEY_END})`;
/** White space between a key and its value, bounded. */
const GAP = '\\s{0,64}';

// What quotes, backslashes and white space between two parts of a match look like in a JSON record, escaped at any
// depth (`\"`, `\\\"`, `\n`, `\\t`…); letters of escapes included, so this matches more than it must, never less.
const RAW_GAP = `[\\s"'\\\\ntrfb]*`;
/** One white-space character of a match, in a record: as it is, or escaped. */
const RAW_SPACE = '(?:\\s|\\\\+[ntrf])';
/** The word every SECRET_KEY ends with. */
const SECRET_WORD = '(?:pass(?:word|wd|phrase)|secret(?:[-_]?id)?|token|key|credentials?)';

/** Object keys whose string value is masked whole wherever they appear in an event. */
export const SECRET_FIELD_NAME = new RegExp(
  `^(?:${SECRET_KEY}|authorization|proxy[-_]authorization|cookie|set[-_]cookie|x[-_]api[-_]key)$`,
  'i',
);

/** Raw-record condition of SECRET_FIELD_NAME (see RedactionRule.rawHint): every parser that makes object keys of
 * input text (JSON, `key=value`, `key: value`) leaves the key followed by quotes or spaces and `:` or `=`. */
export const SECRET_FIELD_RAW_HINT = new RegExp(`(?:${SECRET_WORD}|authorization|cookie)${RAW_GAP}[:=]`);

const alternation = (words: readonly string[]) =>
  [...words]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
    .join('|');
const PROGRAMS = alternation(PROGRAM_NAMES);

export const BUILTIN_REDACTION_RULES: readonly RedactionRule[] = [
  {
    name: 'pem_private_key',
    keywords: ['private key'],
    description: 'PEM private keys (`-----BEGIN … PRIVATE KEY-----` … `END`), also in JSON-escaped form and cut short.',
    pattern: /-----BEGIN[ A-Z0-9]{0,64}PRIVATE KEY-----[\s\S]*?(?:-----END[ A-Z0-9]{0,64}PRIVATE KEY-----|$)/,
    rawHint: /private key-----/,
  },
  {
    name: 'authorization_header',
    keywords: ['authori'],
    description: 'The value of an `Authorization` / `Proxy-Authorization` header (scheme included), to the end of it.',
    pattern: new RegExp(`(\\bauthorization["']?${GAP}[:=]${GAP}["']?)([^"'\\s][^"'\\r\\n]*)`, 'i'),
    rawHint: new RegExp(`authorization${RAW_GAP}[:=]`),
  },
  {
    name: 'bearer_token',
    keywords: ['bearer'],
    description: 'A token after `Bearer ` anywhere in a string.',
    pattern: /(\bbearer\s{1,64})([A-Za-z0-9\-._~+/]+=*)/i,
    rawHint: new RegExp(`bearer${RAW_SPACE}`),
  },
  {
    name: 'jwt',
    keywords: ['eyj'],
    description: 'JSON Web Tokens (`eyJ….eyJ….…`).',
    // Not after a character of its own alphabet: a run of them is tried once, from its start.
    pattern: /eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/,
    rawHint: /eyj[a-z0-9_-]{8}/,
  },
  {
    name: 'url_credentials',
    keywords: ['://'],
    description: 'The password of credentials in a URL (`scheme://user:PASSWORD@host`).',
    pattern: /(:\/\/(?<=\b[a-z][a-z0-9+.-]{0,31}:\/\/)[^\s:/@"']+:)([^\s/@"']+)@/i,
    rawHint: /:\/\/[^\s/]*@/,
  },
  {
    name: 'secret_argument',
    keywords: ['pass', 'secret', 'token', 'key', 'cred'],
    description:
      'Command-line options carrying a secret: `--password=X`, `--password X`, `--db-password X`, `--token=X`, `--client-secret X`, `--secret-id X`, `--api-key=X`….',
    pattern: new RegExp(`(${SECRET_KEY_AT(`(?:^|[\\s"'])--?`)}(?:=|\\s{1,64}|"\\s{1,64}a\\d{1,6}="))([^\\s"']+)`, 'i'),
    rawHint: new RegExp(`${SECRET_WORD}(?<=-[\\w-]{0,160})[=\\s"\\\\]`),
    hint: new RegExp(`${SECRET_WORD}[=\\s"]`, 'i'),
  },
  {
    name: 'secret_assignment',
    keywords: ['pass', 'secret', 'token', 'key', 'cred'],
    description:
      '`password=X`, `"token": "X"`, `api_key: X`, `?access_token=X` (key names ending in password, passwd, secret, secret_key, secret_id, token, api_key, access_key, private_key, client_secret, credentials).',
    pattern: new RegExp(`(${SECRET_KEY_AT('\\b')}\\\\?["']?${GAP}[:=]${GAP}\\\\?["']?)([^\\s"'&,;}\\\\]+)`, 'i'),
    rawHint: new RegExp(`${SECRET_WORD}${RAW_GAP}[:=]`),
    hint: new RegExp(`${SECRET_WORD}\\\\?["']?\\s*[:=]`, 'i'),
  },
  {
    name: 'program_argument',
    // Not the ~60 program names: as keywords they made the scan every string of a walked event meets slower (2.9 µs
    // more per event of the bench mix). Every secret of the table comes with a flag starting a word, or a word a
    // positional secret follows (the hint below).
    keywords: [' -', '\t-', '\n-', '"-', "'-", '=-', 'aws_se', 'vault', 'smbclient', 'sqlplus'],
    description:
      'Secrets given to a known program as its arguments, by program: `sshpass -p X`, `mysql -pX`, `mongosh -p X`, `redis-cli -a X`, `smbclient -U user%X`, `htpasswd -b FILE USER X`, `openssl … -passin pass:X`, `ldapsearch -w X`, `curl -u user:X`, `wget --password X`, `docker login -p X`, `kubectl --token X`, `vault login X`, `aws configure set aws_secret_access_key X`, `ipmitool -P X`…; also as auditd EXECVE arguments (`a1="-p" a2="X"`, hex-encoded ones decoded).',
    // The program's name where a word starts, then the rest of the line: the words are read by maskCommandLine.
    pattern: new RegExp(`(?:${PROGRAMS})(?<=(?:^|[\\s"'/=])(?:${PROGRAMS}))(?![\\w.-])[^\\n]*`),
    // Not the program's name (an alternation of ~60 names doubled the cost of the scan every container record
    // meets: 0.36 → 0.69 µs): what every secret of the table comes with. A flag among those of the table, lower-cased,
    // starting a word (`-p`, `-a`, `-w`, `-u`, `-s`, `-k`, `--pass…`, `--token`, `--user`, `--client-secret`,
    // `--http-…`, `--ftp-…`, htpasswd's `-b` in a group of flags), or a word that a positional secret follows
    // (`vault` for `vault login X`, `aws_se…` for `aws configure set`, `smbclient`, `sqlplus`; not `login`, which "user login"
    // messages hold). Literal first, word start checked behind it: 0.40 µs.
    rawHint:
      /-(?<=[\s"'ntrf]-)(?:[pawusk]|-[ptuchf]|[a-z]{0,8}b)|aws_se(?<=[\s"'ntrf]aws_se)|(?:vault|smbclient|sqlplus)(?<=[\s"'ntrf/=](?:vault|smbclient|sqlplus))/,
    // The same on the text itself, before the pattern (an alternation of the names, slow to scan) is run on a string
    // that holds a keyword of the table (`login`, `curl`…).
    hint: /-(?<=[ \t\n"'=]-)(?:[pawusk]|-[ptuchf]|[a-z]{0,8}b)|aws_se|vault|smbclient|sqlplus/i,
    replace: (segment) => maskCommandLine(segment, MASK),
  },
  {
    name: 'aws_access_key_id',
    keywords: ['akia', 'asia', 'abia', 'acca'],
    description: 'AWS access key ids (`AKIA…`, `ASIA…`: 20 characters).',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/,
    rawHint: /(?:akia|asia|abia|acca)[a-z0-9]{16}/,
  },
  {
    name: 'aws_secret_access_key',
    keywords: ['secret'],
    description: 'AWS secret access keys given as `aws_secret_access_key = …` / `AWS_SECRET_ACCESS_KEY=…`.',
    pattern: /(\baws_?secret_?(?:access_?)?key["']?\s{0,64}[:=]\s{0,64}["']?)([A-Za-z0-9/+=]{40})/i,
    rawHint: /aws_?secret/,
  },
  {
    name: 'gcp_api_key',
    keywords: ['aiza'],
    description: 'Google API keys (`AIza…`, 39 characters).',
    pattern: /\bAIza[0-9A-Za-z_-]{35}/,
    rawHint: /aiza[0-9a-z_-]{35}/,
  },
  {
    name: 'gcp_private_key_id',
    keywords: ['key'],
    description: 'The `private_key_id` of a GCP service-account key file (its `private_key` is a PEM key).',
    pattern: /(private_key_id\\?["']?\s{0,64}:\s{0,64}\\?["'])([0-9a-f]{40})/,
    rawHint: /private_key_id/,
  },
  {
    name: 'azure_storage_key',
    keywords: ['key', 'signature=', 'sig='],
    description:
      'Azure storage account keys and SAS signatures in connection strings and URLs (`AccountKey=…`, `SharedAccessKey=…`, `SharedAccessSignature=…`, `sig=…`).',
    pattern: /(\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=)([^;\s"'&]+)/,
    rawHint: /(?:accountkey|sharedaccesskey|sharedaccesssignature|sig)=/,
  },
  {
    name: 'auditd_hex_value',
    keywords: ['proctitle=', 'audit('],
    description:
      'auditd hex-encoded values (`proctitle=…`, `aN=…`): decoded, and when the text holds a secret replaced by the masked text, quoted.',
    pattern: /(?<=\b(?:proctitle|a\d{1,6}|cmd)=)[0-9A-F]{8,}\b/,
    rawHint: /(?:proctitle|a\d+|cmd)=[0-9a-f]{8}/,
    replace: (hex, redactText) => {
      if (hex.length % 2 !== 0) return hex;
      // PROCTITLE is the argument vector, NUL-separated: read as a command line that keeps arguments apart.
      const decoded = Buffer.from(hex, 'hex').toString('utf8');
      const text = decoded.includes('\0') ? shellQuote(decoded.replace(/\0+$/, '').split('\0')) : decoded;
      const masked = redactText(text);
      return masked === text ? hex : JSON.stringify(masked);
    },
  },
];

/** Rule names the config may disable; also shown by docs/policy.md. */
export const BUILTIN_RULE_NAMES = BUILTIN_REDACTION_RULES.map((r) => r.name);
