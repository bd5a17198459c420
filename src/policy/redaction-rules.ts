// The built-in redaction rules: secrets that must never leave the host in clear, whatever the input. Each rule's
// `pattern` matches exactly the secret (context such as `--password=` is matched by lookbehind and kept), so the
// event still says *that* a password was passed, never *which*. docs/policy.md lists them; config can disable any
// by name (`redaction.disable`) and add its own (`redaction.rules`).

/** The name (for `redaction.disable` and in `outrider_redactions`) of masking values of keys named like secrets. */
export const SECRET_FIELD_RULE = 'secret_field_name';

/** What replaces a masked secret. */
export const MASK = '***';

export interface RedactionRule {
  name: string;
  description: string;
  /** Matches the secret itself (global flag set when compiled). */
  pattern: RegExp;
  /**
   * Literal words (matched ignoring case), one of which every match of `pattern` contains. All rules' keywords make
   * one combined scan that decides whether a string needs any per-rule work: the hot path for clean text.
   */
  keywords: string[];
  /** A sharper (still cheap) necessary condition of `pattern`, tested before it. */
  hint?: RegExp;
  /**
   * A necessary condition of `pattern` matching any text JSON-unescaped (at any depth) from a record, tested on the
   * record itself, lower-cased (Redactor.cleanByRaw): so written in lower case, without flags (case-sensitive scans
   * of a lower-cased copy are ~3× faster than case-insensitive ones). Where the pattern needs a quote or white space,
   * the record may hold it escaped (`\"`, `\n`, `\\t`…). The caller walks records with `\u` or `\/` escapes, which
   * can spell anything. Absent (config rules): no record is cleared without a walk.
   */
  rawHint?: RegExp;
  /** Replaces the whole match with what the function returns, instead of the mask (see auditd_hex_value). */
  replace?: (match: string, redactText: (text: string) => string) => string;
  /** Dotted field paths the rule is limited to (config rules only); absent: every string field. */
  fields?: string[];
}

// Key names (in `key=value`, `"key": "value"`, `--key value`) whose value is a secret.
const SECRET_KEY =
  '(?:[a-z0-9]+[-_])*(?:password|passwd|passphrase|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|client[-_]?secret|credentials?)';

// What quotes, backslashes and white space between two parts of a match look like in a JSON record, escaped at any
// depth (`\"`, `\\\"`, `\n`, `\\t`…); letters of escapes included, so this matches more than it must, never less.
const RAW_GAP = `[\\s"'\\\\ntrfb]*`;
/** One white-space character of a match, in a record: as it is, or escaped. */
const RAW_SPACE = '(?:\\s|\\\\+[ntrf])';
/** The word every SECRET_KEY ends with. */
const SECRET_WORD = '(?:pass(?:word|wd|phrase)|secret|token|key|credentials?)';

/** Object keys whose string value is masked whole wherever they appear in an event. */
export const SECRET_FIELD_NAME = new RegExp(
  `^(?:${SECRET_KEY}|authorization|proxy[-_]authorization|cookie|set[-_]cookie|x[-_]api[-_]key)$`,
  'i',
);

/** Raw-record condition of SECRET_FIELD_NAME (see RedactionRule.rawHint): every parser that makes object keys of
 * input text (JSON, `key=value`, `key: value`) leaves the key followed by quotes or spaces and `:` or `=`. */
export const SECRET_FIELD_RAW_HINT = new RegExp(`(?:${SECRET_WORD}|authorization|cookie)${RAW_GAP}[:=]`);

export const BUILTIN_REDACTION_RULES: readonly RedactionRule[] = [
  {
    name: 'pem_private_key',
    keywords: ['private key'],
    description: 'PEM private keys (`-----BEGIN … PRIVATE KEY-----` … `END`), also in JSON-escaped form and cut short.',
    pattern: /-----BEGIN[ A-Z0-9]*PRIVATE KEY-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY-----|$)/,
    hint: /PRIVATE KEY-----/,
    rawHint: /private key-----/,
  },
  {
    name: 'authorization_header',
    keywords: ['authori'],
    description: 'The value of an `Authorization` / `Proxy-Authorization` header (scheme included), to the end of it.',
    pattern: /(?<=\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\s][^"'\r\n]*/i,
    hint: /authori[sz]ation/i,
    rawHint: new RegExp(`authorization${RAW_GAP}[:=]`),
  },
  {
    name: 'bearer_token',
    keywords: ['bearer'],
    description: 'A token after `Bearer ` anywhere in a string.',
    pattern: /(?<=\bbearer\s+)[A-Za-z0-9\-._~+/]+=*/i,
    hint: /bearer/i,
    rawHint: new RegExp(`bearer${RAW_SPACE}`),
  },
  {
    name: 'jwt',
    keywords: ['eyj'],
    description: 'JSON Web Tokens (`eyJ….eyJ….…`).',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/,
    hint: /eyJ/,
    rawHint: /eyj[a-z0-9_-]{8,}\./,
  },
  {
    name: 'url_credentials',
    keywords: ['://'],
    description: 'The password of credentials in a URL (`scheme://user:PASSWORD@host`).',
    pattern: /(?<=\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)[^\s/@"']+(?=@)/i,
    hint: /:\/\/[^\s/]*@/,
    rawHint: /:\/\/[^\s/]*@/,
  },
  {
    name: 'secret_argument',
    keywords: ['pass', 'secret', 'token', 'key', 'cred'],
    description:
      'Command-line options carrying a secret: `--password=X`, `--password X`, `--db-password X`, `--token=X`, `--client-secret X`, `--api-key=X`….',
    pattern: new RegExp(`(?<=(?:^|[\\s"'])--?${SECRET_KEY}(?:=|\\s+|"\\s+a\\d+="))[^\\s"']+`, 'i'),
    hint: /-[\w-]*(?:pass|secret|token|key|credential)/i,
    rawHint: new RegExp(`-[\\w-]*${SECRET_WORD}[=\\s"\\\\]`),
  },
  {
    name: 'secret_assignment',
    keywords: ['pass', 'secret', 'token', 'key', 'cred'],
    description:
      '`password=X`, `"token": "X"`, `api_key: X`, `?access_token=X` (key names ending in password, passwd, secret, token, api_key, access_key, private_key, client_secret, credentials).',
    pattern: new RegExp(`(?<=\\b${SECRET_KEY}\\\\?["']?\\s*[:=]\\s*\\\\?["']?)[^\\s"'&,;}\\\\]+`, 'i'),
    hint: /(?:pass(?:word|wd|phrase)?|secret|token|key|credentials?)\\?["']?\s*[:=]/i,
    rawHint: new RegExp(`${SECRET_WORD}${RAW_GAP}[:=]`),
  },
  {
    name: 'mysql_password',
    keywords: ['mysql', 'mariadb'],
    description:
      'The password glued to `-p` of the MySQL/MariaDB clients (`mysql -pSECRET`, `mysqldump -u root -pSECRET`), also as separate auditd arguments.',
    pattern: /(?<=\b(?:mysql|mariadb)[a-z-]*"?\s(?:[^\n]*?[\s"])?-p)[^\s"']+/,
    hint: /(?:mysql|mariadb)[^\n]*-p/,
    rawHint: /(?:mysql|mariadb)[^\n]*-p/,
  },
  {
    name: 'curl_user_password',
    keywords: ['curl'],
    description:
      'The password of `curl -u user:PASSWORD` / `--user user:PASSWORD` (also as separate auditd arguments).',
    pattern: /(?<=\bcurl"?\s(?:[^\n]*?[\s"])?(?:-u|--user)(?:\s*|"\s+a\d+=")["']?[^\s:"']*:)[^\s"']+/,
    hint: /\bcurl"?\s[^\n]*?(?:-u|--user)\b/,
    rawHint: new RegExp(`curl\\\\*"?${RAW_SPACE}[^\\n]*?(?:-u|--user)`),
  },
  {
    name: 'aws_access_key_id',
    keywords: ['akia', 'asia', 'abia', 'acca'],
    description: 'AWS access key ids (`AKIA…`, `ASIA…`: 20 characters).',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/,
    hint: /AKIA|ASIA|ABIA|ACCA/,
    rawHint: /(?:akia|asia|abia|acca)[a-z0-9]{16}/,
  },
  {
    name: 'aws_secret_access_key',
    keywords: ['secret'],
    description: 'AWS secret access keys given as `aws_secret_access_key = …` / `AWS_SECRET_ACCESS_KEY=…`.',
    pattern: /(?<=\baws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/i,
    hint: /aws_?secret/i,
    rawHint: /aws_?secret/,
  },
  {
    name: 'gcp_api_key',
    keywords: ['aiza'],
    description: 'Google API keys (`AIza…`, 39 characters).',
    pattern: /\bAIza[0-9A-Za-z_-]{35}/,
    hint: /AIza/,
    rawHint: /aiza[0-9a-z_-]{35}/,
  },
  {
    name: 'gcp_private_key_id',
    keywords: ['key'],
    description: 'The `private_key_id` of a GCP service-account key file (its `private_key` is a PEM key).',
    pattern: /(?<=private_key_id\\?["']?\s*:\s*\\?["'])[0-9a-f]{40}/,
    hint: /private_key_id/,
    rawHint: /private_key_id/,
  },
  {
    name: 'azure_storage_key',
    keywords: ['key', 'signature=', 'sig='],
    description:
      'Azure storage account keys and SAS signatures in connection strings and URLs (`AccountKey=…`, `SharedAccessKey=…`, `SharedAccessSignature=…`, `sig=…`).',
    pattern: /(?<=\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=)[^;\s"'&]+/,
    hint: /AccountKey|SharedAccess|sig=/,
    rawHint: /(?:accountkey|sharedaccesskey|sharedaccesssignature|sig)=/,
  },
  {
    name: 'auditd_hex_value',
    keywords: ['proctitle=', 'audit('],
    description:
      'auditd hex-encoded values (`proctitle=…`, `aN=…`): decoded, and when the text holds a secret replaced by the masked text, quoted.',
    pattern: /(?<=\b(?:proctitle|a\d+|cmd)=)[0-9A-F]{8,}\b/,
    hint: /(?:proctitle|a\d+|cmd)=[0-9A-F]{8}/,
    rawHint: /(?:proctitle|a\d+|cmd)=[0-9a-f]{8}/,
    replace: (hex, redactText) => {
      if (hex.length % 2 !== 0) return hex;
      const text = Buffer.from(hex, 'hex').toString('utf8').replaceAll('\0', ' ');
      const masked = redactText(text);
      return masked === text ? hex : JSON.stringify(masked);
    },
  },
];

/** Rule names the config may disable; also shown by docs/policy.md. */
export const BUILTIN_RULE_NAMES = BUILTIN_REDACTION_RULES.map((r) => r.name);
