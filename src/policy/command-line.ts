// Secrets given to a program as command-line arguments, by program: which flag carries a secret depends on the
// program (`-p` is a port for ssh, a password for sshpass, and a password only glued to it for mysql). The table
// below is applied to the words that follow a program's name wherever it appears: a shell command line in a log
// line, `process.cmd_line`, a decoded PROCTITLE, and auditd EXECVE records (`a0="sshpass" a1="-p" a2="SECRET"`,
// with hex-encoded values decoded to decide and replaced by the masked text). Linear: one pass over the words.

interface ProgramRule {
  /** Executable names (the basename of the first word). */
  names: string[];
  /** Flags whose next argument is a secret; also glued (`-pSECRET`) for short ones and `--flag=SECRET`. */
  next?: string[];
  /** Short flags whose secret is only the text glued to them (`mysql -pSECRET`; `-p` alone asks for it). */
  glued?: string[];
  /** Flags whose value is `USER<sep>SECRET` (curl `-u user:pass`, smbclient `-U user%pass`): the part after it. */
  userSecret?: Record<string, string>;
  /** Flags whose value names where a password comes from (openssl `-passin pass:SECRET`): only `pass:` is one. */
  passSource?: string[];
  /** Options taking a value that is not a secret, so that the value is not counted as a positional. */
  withValue?: string[];
  /** The flags above apply only after this sub-command (`docker login -p`; `docker run -p` publishes a port). */
  subcommand?: string;
  /** Words (exact) whose next argument is a secret (`aws configure set aws_secret_access_key SECRET`). */
  afterWord?: string[];
  /** Which positional argument (from 0, sub-command excluded) is a secret, given the short flags seen. */
  positional?: (flags: string) => number | undefined;
  /** Options end at the first positional: it is the command the program runs (`sshpass -p X ssh -p 22 host`). */
  stopAtPositional?: boolean;
}

/** Widely used tools that take secrets on the command line (docs/policy.md lists them). */
export const PROGRAM_RULES: readonly ProgramRule[] = [
  { names: ['sshpass'], next: ['-p'], stopAtPositional: true },
  {
    names: [
      'mysql',
      'mariadb',
      'mysqldump',
      'mariadb-dump',
      'mysqladmin',
      'mariadb-admin',
      'mysqlimport',
      'mysqlshow',
      'mysqlcheck',
      'mysqlpump',
      'mysqlsh',
    ],
    glued: ['-p'],
  },
  {
    names: ['mongo', 'mongosh', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'mongostat', 'mongotop'],
    next: ['-p'],
  },
  { names: ['redis-cli', 'valkey-cli', 'keydb-cli'], next: ['-a', '--pass'] },
  {
    // `smbclient //host/share SECRET` too.
    names: ['smbclient'],
    userSecret: { '-U': '%', '--user': '%' },
    positional: () => 1,
    withValue: ['-W', '-I', '-p', '-m', '-n', '-O', '-s', '-l', '-L', '-d', '-c', '-D', '-T', '-R', '-t', '-b', '-A'],
  },
  {
    names: ['rpcclient', 'smbcacls', 'smbget', 'smbmap'],
    userSecret: { '-U': '%', '--user': '%' },
  },
  {
    names: ['htpasswd'],
    withValue: ['-C', '-r'],
    // `htpasswd -b FILE USER PASSWORD`, `htpasswd -nb USER PASSWORD`.
    positional: (flags) => (flags.includes('b') ? (flags.includes('n') ? 1 : 2) : undefined),
  },
  { names: ['openssl'], passSource: ['-pass', '-passin', '-passout', '-kdfopt'], next: ['-k', '-K'] },
  {
    names: [
      'ldapsearch',
      'ldapmodify',
      'ldapadd',
      'ldapdelete',
      'ldapmodrdn',
      'ldapcompare',
      'ldapwhoami',
      'ldapexop',
      'ldappasswd',
      'ldapurl',
    ],
    next: ['-w', '-s', '-a'],
  },
  { names: ['curl'], userSecret: { '-u': ':', '--user': ':', '-U': ':', '--proxy-user': ':' } },
  { names: ['wget'], next: ['--password', '--http-password', '--ftp-password', '--proxy-password'] },
  {
    names: ['docker', 'podman', 'nerdctl', 'buildah', 'skopeo', 'helm', 'oras'],
    subcommand: 'login',
    next: ['-p', '--password'],
  },
  { names: ['kubectl', 'kubelogin'], next: ['--token', '--password', '--client-secret'] },
  // `vault login TOKEN` (key=value pairs after it are auth parameters, handled as assignments).
  { names: ['vault'], subcommand: 'login', positional: () => 0 },
  { names: ['aws'], afterWord: ['aws_secret_access_key', 'aws_session_token'] },
  { names: ['ipmitool', 'sqlcmd', 'mosquitto_pub', 'mosquitto_sub'], next: ['-P'] },
  { names: ['useradd', 'usermod'], next: ['-p', '--password'] },
  { names: ['rdesktop'], next: ['-p'] },
  // `sqlplus user/SECRET@db`: the first positional, after the `/`.
  { names: ['sqlplus'], userSecret: { '': '/' } },
];

const BY_NAME = new Map<string, ProgramRule>(PROGRAM_RULES.flatMap((rule) => rule.names.map((n) => [n, rule])));

/** Every program name of the table. */
export const PROGRAM_NAMES: readonly string[] = [...BY_NAME.keys()];

/** A word of a command line as it stands in the text, split into what is kept around its value. */
interface Word {
  /** `aN=` of an auditd EXECVE record, opening quotes, JSON around a command. */
  before: string;
  value: string;
  after: string;
  /** The value was an auditd hex-encoded one (decoded in `value`). */
  hex: boolean;
}

const AUDIT_ARG = /^a\d+(?:\[\d+\])?=/;
const HEX_VALUE = /^(?:[0-9A-F]{2})+$/;
const QUOTES = new Set(['"', "'", '\\', '`']);
const CLOSERS = new Set(['"', "'", '\\', '`', ',', '}', ']', ')']);
const SEPARATORS = new Set([';', '&&', '||', '|', '&']);

function parseWord(token: string): Word {
  let start = 0;
  const audit = AUDIT_ARG.exec(token);
  if (audit) start = audit[0].length;
  const hexCandidate = audit !== null && HEX_VALUE.test(token.slice(start));
  if (hexCandidate) {
    const value = Buffer.from(token.slice(start), 'hex').toString('utf8').replaceAll('\0', ' ');
    return { before: token.slice(0, start), value, after: '', hex: true };
  }
  while (start < token.length && QUOTES.has(token[start]!)) start++;
  let end = token.length;
  while (end > start && CLOSERS.has(token[end - 1]!)) end--;
  return { before: token.slice(0, start), value: token.slice(start, end), after: token.slice(end), hex: false };
}

/** The program a word names, when it is one of the table (`/usr/bin/mysql`, `{"cmd":"sshpass`). */
function programOf(value: string): ProgramRule | undefined {
  let from = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i]!;
    if (c === '/' || c === '=' || c === '"' || c === "'" || c === ':') {
      from = i + 1;
      break;
    }
  }
  return BY_NAME.get(from === 0 ? value : value.slice(from));
}

/** The text split at white space, odd indexes the spaces; a word opening a quote runs to the word closing it
 * (`-p 'two words'`) as one even-index part. */
function splitWords(text: string): string[] {
  const parts = text.split(/(\s+)/);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    let token = parts[i]!;
    const open = parseWord(token).before.replace(/[^"']/g, '').slice(-1);
    if (open && !token.slice(token.indexOf(open) + 1).includes(open)) {
      let j = i;
      while (j + 2 < parts.length && !parts[j + 2]!.includes(open)) j += 2;
      if (j + 2 < parts.length) {
        token = parts.slice(i, j + 3).join('');
        i = j + 2;
      }
    }
    out.push(token);
    if (i + 1 < parts.length) out.push(parts[i + 1]!);
  }
  return out;
}

/**
 * Masks (with `mask`) the secrets the table finds in `text`, which starts at a program's name: the words after it,
 * up to the end of the text, with every program of the table met on the way applying its own flags from there.
 */
export function maskCommandLine(text: string, maskText: string): string {
  const parts = splitWords(text);
  const words: Array<Word | undefined> = [];
  let changed = false;
  let rule: ProgramRule | undefined;
  let active = false; // after the sub-command, when one is needed
  let optionsDone = false;
  let flags = '';
  let positional = 0;
  /** What the next word is: a secret (masked whole or after a separator), a non-secret value, or nothing special. */
  let pending: { kind: 'secret' | 'userSecret' | 'passSource' | 'skip'; sep?: string } | undefined;
  /** Masks the word's value from `from` to `to`. */
  const mask = (i: number, word: Word, from = 0, to = word.value.length) => {
    if (from >= to) return;
    word.value = `${word.value.slice(0, from)}${maskText}${word.value.slice(to)}`;
    words[i] = word;
    changed = true;
  };
  for (let i = 0; i < parts.length; i += 2) {
    const token = parts[i]!;
    if (token === '') continue;
    if (SEPARATORS.has(token)) {
      rule = undefined;
      pending = undefined;
      continue;
    }
    const word = parseWord(token);
    // A program's name starts its own options, unless it is the value of the current one's option or one of its
    // positional arguments (`htpasswd -b /etc/htpasswd …`).
    const program = pending || rule?.positional || rule?.userSecret?.[''] ? undefined : programOf(word.value);
    if (program) {
      rule = program;
      active = program.subcommand === undefined;
      optionsDone = false;
      flags = '';
      positional = 0;
      pending = undefined;
      continue;
    }
    if (!rule) continue;
    const value = word.value;
    if (pending) {
      const { kind, sep } = pending;
      pending = undefined;
      if (kind === 'secret') mask(i, word);
      else if (kind === 'userSecret') {
        const at = value.indexOf(sep!);
        if (at >= 0) mask(i, word, at + 1);
      } else if (kind === 'passSource' && value.startsWith('pass:')) mask(i, word, 5);
      if (token.endsWith(';')) rule = undefined;
      continue;
    }
    if (!active) {
      if (value === rule.subcommand) active = true;
      else if (!value.startsWith('-') && rule.subcommand !== undefined) rule = undefined;
      continue;
    }
    if (rule.afterWord?.includes(value)) pending = { kind: 'secret' };
    else if (value.startsWith('-') && value.length > 1 && !optionsDone) {
      const eq = value.indexOf('=');
      const flag = eq > 0 ? value.slice(0, eq) : value;
      const inline = eq > 0;
      if (rule.next?.includes(flag)) {
        if (inline) mask(i, word, eq + 1);
        else pending = { kind: 'secret' };
      } else if (rule.passSource?.includes(flag)) {
        if (inline) {
          if (value.startsWith('pass:', eq + 1)) mask(i, word, eq + 6);
        } else pending = { kind: 'passSource' };
      } else if (rule.userSecret?.[flag] !== undefined) {
        const sep = rule.userSecret[flag]!;
        if (inline) {
          const at = value.indexOf(sep, eq + 1);
          if (at >= 0) mask(i, word, at + 1);
        } else pending = { kind: 'userSecret', sep };
      } else if (rule.withValue?.includes(flag)) {
        if (!inline) pending = { kind: 'skip' };
      } else if (!value.startsWith('--')) {
        // Short flags, possibly glued to their value (`-pSECRET`, `-uadmin:pass`, `-Uuser%pass`).
        const short = value.slice(0, 2);
        if (rule.next?.includes(short) || rule.glued?.includes(short)) mask(i, word, 2);
        else if (rule.userSecret?.[short] !== undefined) {
          const at = value.indexOf(rule.userSecret[short]!, 2);
          if (at >= 0) mask(i, word, at + 1);
        } else flags += value.slice(1);
      }
    } else if (value === '--') optionsDone = true;
    else if (value !== '' && !value.includes('=')) {
      if (rule.stopAtPositional) {
        rule = undefined;
        continue;
      }
      const userSep = rule.userSecret?.[''];
      if (userSep !== undefined && positional === 0) {
        // `sqlplus user/SECRET@db`
        const at = value.indexOf(userSep);
        const host = value.indexOf('@', at);
        if (at >= 0) mask(i, word, at + 1, host >= 0 ? host : value.length);
      } else if (rule.positional?.(flags) === positional) mask(i, word);
      positional++;
    }
    if (token.endsWith(';')) rule = undefined;
  }
  if (!changed) return text;
  for (let i = 0; i < parts.length; i += 2) {
    const word = words[i];
    if (word)
      parts[i] = word.hex ? `${word.before}${JSON.stringify(word.value)}` : word.before + word.value + word.after;
  }
  return parts.join('');
}
