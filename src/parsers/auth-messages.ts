// What an auth log message says (sshd, PAM, sudo, su, shadow-utils), as facts a mapper turns into OCSF. Each
// pattern is anchored at the start of the message, so a line is tested against a handful of cheap regexes.

export type AuthFact =
  | {
      kind: 'auth';
      /** OCSF Authentication activity: 1 Logon, 2 Logoff, 7 Account Switch. */
      activity: 1 | 2 | 7;
      ok: boolean;
      user: string;
      uid?: string;
      actorUser?: string;
      srcIp?: string;
      srcPort?: number;
      method?: string;
      service?: string;
      detail?: string;
      session?: string;
      tty?: string;
      pwd?: string;
      command?: string;
      invalidUser?: boolean;
      key?: { type: string; fingerprint: string };
    }
  | {
      /** No user known: a network-level event (4001): 1 Open, 2 Close, 3 Reset, 4 Fail, 5 Refuse. */
      kind: 'connection';
      activity: 1 | 2 | 3 | 4 | 5;
      srcIp: string;
      srcPort?: number;
      srcHostname?: string;
      dstIp?: string;
      dstPort?: number;
      detail?: string;
    }
  | { kind: 'account'; activity: 1 | 3 | 6 | 9 | 12; user: string; uid?: string; detail?: string; service?: string }
  | { kind: 'group'; activity: 3 | 5 | 6; group: string; gid?: string; user?: string };

type Rule = [RegExp, (m: RegExpExecArray) => AuthFact | undefined];

const RULES: Rule[] = [
  [
    /^Accepted (\S+) for (.+?) from (\S+) port (\d+)(?: [^\s:]+)?(?:: (\S+) (\S+))?/,
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: true,
      method: m[1]!,
      user: m[2]!,
      srcIp: m[3]!,
      srcPort: Number(m[4]),
      ...(m[5] && m[6] ? { key: { type: m[5], fingerprint: m[6] } } : {}),
    }),
  ],
  [
    /^Failed (\S+) for (invalid user )?(.+?) from (\S+) port (\d+)/,
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: false,
      method: m[1]!,
      user: m[3]!,
      srcIp: m[4]!,
      srcPort: Number(m[5]),
      detail: m[2] ? `Failed ${m[1]} for invalid user` : `Failed ${m[1]}`,
      ...(m[2] ? { invalidUser: true } : {}),
    }),
  ],
  [
    /^Invalid user (.*?) from (\S+)(?: port (\d+))?/,
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: false,
      user: m[1] || '(empty)',
      srcIp: m[2]!,
      ...(m[3] ? { srcPort: Number(m[3]) } : {}),
      detail: 'Invalid user',
      invalidUser: true,
    }),
  ],
  [
    /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.+?) from (\S+) port (\d+)/,
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: false,
      user: m[2]!,
      srcIp: m[3]!,
      srcPort: Number(m[4]),
      detail: 'maximum authentication attempts exceeded',
      ...(m[1] ? { invalidUser: true } : {}),
    }),
  ],
  [
    /^(Disconnected from|Connection closed by|Connection reset by) (invalid user|authenticating user|user) (.*?) ?(\S+) port (\d+)/,
    (m) => {
      const preauth = m[2] !== 'user';
      return {
        kind: 'auth',
        activity: preauth ? 1 : 2,
        ok: !preauth,
        user: m[3] || '(empty)',
        srcIp: m[4]!,
        srcPort: Number(m[5]),
        ...(preauth ? { detail: `${m[1]} ${m[2]} before authentication completed` } : {}),
        ...(m[2] === 'invalid user' ? { invalidUser: true } : {}),
      };
    },
  ],
  [
    /^Close session: user (\S+) from (\S+) port (\d+) id (\d+)/,
    (m) => ({ kind: 'auth', activity: 2, ok: true, user: m[1]!, srcIp: m[2]!, srcPort: Number(m[3]), session: m[4]! }),
  ],
  [
    /^pam_unix\(([^:)]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)(?:\(uid=\d+\))?)?/,
    (m) => ({
      kind: 'auth',
      activity: m[2] === 'opened' ? 1 : 2,
      ok: true,
      service: m[1]!,
      user: m[3]!,
      ...(m[4] ? { uid: m[4] } : {}),
      ...(m[5] ? { actorUser: m[5] } : {}),
    }),
  ],
  [
    /^pam_unix\(([^:)]+):auth\): authentication failure; (.*)$/,
    (m) => {
      const kv = keyValues(m[2]!);
      const user = kv.user || kv.ruser || kv.logname;
      if (!user) {
        // Password guessing with a user name PAM did not log: the source is all there is.
        return kv.rhost
          ? { kind: 'connection', activity: 4, srcIp: kv.rhost, detail: `${m[1]}: authentication failure` }
          : undefined;
      }
      return {
        kind: 'auth',
        activity: 1,
        ok: false,
        service: m[1]!,
        user,
        ...(kv.uid ? { uid: kv.uid } : {}),
        ...(kv.logname && kv.logname !== user ? { actorUser: kv.logname } : {}),
        ...(kv.rhost ? { srcIp: kv.rhost } : {}),
        ...(kv.tty ? { tty: kv.tty } : {}),
        detail: 'authentication failure',
      };
    },
  ],
  [
    /^PAM \d+ more authentication failures?; (.*)$/,
    (m) => {
      const kv = keyValues(m[1]!);
      if (!kv.user) return undefined;
      return {
        kind: 'auth',
        activity: 1,
        ok: false,
        user: kv.user,
        ...(kv.rhost ? { srcIp: kv.rhost } : {}),
        detail: 'repeated authentication failures',
      };
    },
  ],
  [
    /^pam_tally2?\(([^:)]+):auth\): user (\S+) \((\d+)\) tally (\d+), deny (\d+)/,
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: false,
      service: m[1]!,
      user: m[2]!,
      uid: m[3]!,
      detail: `tally ${m[4]}, deny ${m[5]}`,
    }),
  ],
  [
    /^pam_faillock\(([^:)]+):auth\): Consecutive login failures for user (\S+) account temporarily locked/,
    (m) => ({ kind: 'account', activity: 9, user: m[2]!, service: m[1]!, detail: 'consecutive login failures' }),
  ],
  [
    /^pam_unix\(([^:)]+):chauthtok\): password changed for (\S+)/,
    (m) => ({ kind: 'account', activity: 3, user: m[2]!, service: m[1]! }),
  ],
  [
    /^User (\S+) from (\S+) not allowed because (.*)$/,
    (m) => ({ kind: 'auth', activity: 1, ok: false, user: m[1]!, srcIp: m[2]!, detail: `not allowed because ${m[3]}` }),
  ],
  // sudo
  [
    /^\s*(\S+) : (?:(.*?) ; )?TTY=(\S+) ; PWD=(.*?) ; USER=(\S+) ;(?: GROUP=\S+ ;)?(?: TSID=\S+ ;)?(?: ENV=.*? ;)? COMMAND=(.*)$/,
    (m) => ({
      kind: 'auth',
      activity: 7,
      ok: !m[2],
      actorUser: m[1]!,
      user: m[5]!,
      tty: m[3]!,
      pwd: m[4]!,
      command: m[6]!,
      service: 'sudo',
      ...(m[2] ? { detail: m[2] } : {}),
    }),
  ],
  // su
  [
    /^\(to (\S+)\) (\S+) on (\S+)$/,
    (m) => ({ kind: 'auth', activity: 7, ok: true, user: m[1]!, actorUser: m[2]!, tty: m[3]!, service: 'su' }),
  ],
  [
    /^(Successful|FAILED) su for (\S+) by (\S+)$/,
    (m) => ({
      kind: 'auth',
      activity: 7,
      ok: m[1] === 'Successful',
      user: m[2]!,
      actorUser: m[3]!,
      service: 'su',
    }),
  ],
  [
    /^([+-]) (\S+) (\S+?):(\S+)$/,
    (m) => ({
      kind: 'auth',
      activity: 7,
      ok: m[1] === '+',
      tty: m[2]!,
      actorUser: m[3]!,
      user: m[4]!,
      service: 'su',
    }),
  ],
  // shadow-utils
  [/^new user: name=([^,]+), UID=(\d+)/, (m) => ({ kind: 'account', activity: 1, user: m[1]!, uid: m[2]! })],
  [
    /^(?:new group|group added to \S+): name=([^,]+), GID=(\d+)/,
    (m) => ({ kind: 'group', activity: 6, group: m[1]!, gid: m[2]! }),
  ],
  [/^delete user '([^']+)'/, (m) => ({ kind: 'account', activity: 6, user: m[1]! })],
  [
    /^(?:removed group|group) '([^']+)'(?: owned by '[^']+')? removed|^removed group '([^']+)'/,
    (m) => ({ kind: 'group', activity: 5, group: (m[1] ?? m[2])! }),
  ],
  [/^add '([^']+)' to (?:shadow )?group '([^']+)'/, (m) => ({ kind: 'group', activity: 3, user: m[1]!, group: m[2]! })],
  [/^change user '([^']+)' password/, (m) => ({ kind: 'account', activity: 3, user: m[1]! })],
  [/^lock user '([^']+)' password/, (m) => ({ kind: 'account', activity: 9, user: m[1]! })],
  [/^unlock user '([^']+)' password/, (m) => ({ kind: 'account', activity: 12, user: m[1]! })],
  // connections without a user
  [
    /^(?:fatal: )?Timeout before authentication for (?:connection from )?(\S+?)(?: to \S+)?,? port (\d+)/,
    (m) => ({
      kind: 'connection',
      activity: 4,
      srcIp: m[1]!,
      srcPort: Number(m[2]),
      detail: 'Timeout before authentication',
    }),
  ],
  [
    /^Unable to negotiate with (\S+) port (\d+): (.*?)(?: \[preauth\])?\s*$/,
    (m) => ({ kind: 'connection', activity: 4, srcIp: m[1]!, srcPort: Number(m[2]), detail: m[3]! }),
  ],
  [
    /^Did not receive identification string from (\S+)(?: port (\d+))?/,
    (m) => ({
      kind: 'connection',
      activity: 4,
      srcIp: m[1]!,
      ...(m[2] ? { srcPort: Number(m[2]) } : {}),
      detail: 'Did not receive identification string',
    }),
  ],
  [
    /^banner exchange: Connection from (\S+) port (\d+): (.*)$/,
    (m) => ({
      kind: 'connection',
      activity: 4,
      srcIp: m[1]!,
      srcPort: Number(m[2]),
      detail: `banner exchange: ${m[3]}`,
    }),
  ],
  [
    /^(?:ssh_dispatch_run_fatal: )?Connection from (\S+) port (\d+): (.*?)(?: \[preauth\])?$/,
    (m) => ({ kind: 'connection', activity: 4, srcIp: m[1]!, srcPort: Number(m[2]), detail: m[3]! }),
  ],
  [
    /^Magic value check failed \(\d+\) on obfuscated handshake from (\S+) port (\d+)/,
    (m) => ({
      kind: 'connection',
      activity: 4,
      srcIp: m[1]!,
      srcPort: Number(m[2]),
      detail: 'obfuscated handshake failed',
    }),
  ],
  [
    /^refused connect from (\S+) \(([^)]+)\)/,
    (m) => ({ kind: 'connection', activity: 5, srcIp: m[2]!, srcHostname: m[1]!, detail: 'refused connect' }),
  ],
  [
    /^Connection (closed|reset) by (\S+) port (\d+)(?: \[preauth\])?$/,
    (m) => ({ kind: 'connection', activity: m[1] === 'closed' ? 2 : 3, srcIp: m[2]!, srcPort: Number(m[3]) }),
  ],
  [
    /^Received disconnect from (\S+) port (\d+):(\d+): (.*?)(?: \[preauth\])?$/,
    (m) => ({ kind: 'connection', activity: 2, srcIp: m[1]!, srcPort: Number(m[2]), detail: `${m[3]}: ${m[4]}` }),
  ],
  [
    /^Connection from (\S+) port (\d+) on (\S+) port (\d+)/,
    (m) => ({
      kind: 'connection',
      activity: 1,
      srcIp: m[1]!,
      srcPort: Number(m[2]),
      dstIp: m[3]!,
      dstPort: Number(m[4]),
    }),
  ],
];

/** First characters of every message a rule can match: lets the container sniffer reject most lines at once. */
export const AUTH_MESSAGE_HINT =
  /^(?:Accepted |Failed |Invalid user |Disconnected from |Connection (?:closed|reset|from) |Close session|pam_|PAM |error: maximum|maximum auth|Received disconnect|Timeout before|fatal: Timeout|Unable to negotiate|Did not receive|banner exchange|refused connect|User \S+ from|ssh_dispatch_run_fatal|Magic value)/;

export function classifyAuthMessage(message: string): AuthFact | undefined {
  for (const [re, build] of RULES) {
    const m = re.exec(message);
    if (m) {
      const fact = build(m);
      if (fact) return fact;
    }
  }
  return undefined;
}

/** `a=1 b= c=x` (PAM's key=value lists, values without spaces, possibly empty). */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // `\b` first: a key starts a word, so a long run of word characters without `=` is tried once, not at each of its
  // characters (quadratic).
  for (const m of text.matchAll(/\b(\w+)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}
