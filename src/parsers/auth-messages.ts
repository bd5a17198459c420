// What an auth log message says (sshd, PAM, sudo, su, shadow-utils), as facts a mapper turns into OCSF. Each
// pattern is anchored at the start of the message, so a line is tested against a handful of cheap regexes; every
// pattern is linear (literal prefixes, negated classes, no nested or adjacent overlapping quantifiers).
//
// One action (a login, a su, a useradd) makes a program write several lines. Exactly one of them is the action
// (`step` absent): the line the program writes for its decision ("Accepted …", "FAILED SU …", sudo's COMMAND line,
// "new user: …"). The others are the steps of that action (`step` = what the step is: PAM's authentication and
// session lines when the program logs its own decision, the /etc/gshadow half of a group change…), so that counting
// events of an action's class and activity counts actions. docs/ocsf-mapping.md has the table per action.

export type AuthFact =
  | {
      kind: 'auth';
      /** OCSF Authentication activity: 1 Logon, 2 Logoff, 7 Account Switch; a step is written as 99 Other. */
      activity: 1 | 2 | 7;
      ok: boolean;
      /** The account logged on to, switched to or authenticated as; undefined when the line does not say. */
      user?: string;
      uid?: string;
      /** Who acted (the invoker of su/sudo); never a daemon's own identity. */
      actorUser?: string;
      actorUid?: string;
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
      /** Set when the line is a step of an action whose decision another line records. */
      step?: string;
    }
  | {
      /** No user known, or a pre-authentication disconnect: a network-level event (4001): 1 Open, 2 Close, 3 Reset,
       * 4 Fail, 5 Refuse. */
      kind: 'connection';
      activity: 1 | 2 | 3 | 4 | 5;
      srcIp: string;
      srcPort?: number;
      srcHostname?: string;
      dstIp?: string;
      dstPort?: number;
      detail?: string;
      /** The user a pre-authentication disconnect names (not authenticated: kept under unmapped). */
      user?: string;
      invalidUser?: boolean;
    }
  | {
      kind: 'account';
      /** 3001 Account Change: 1 Create, 3 Password Change, 6 Delete, 9 Lock, 12 Unlock, 99 Other. */
      activity: 1 | 3 | 6 | 9 | 12 | 99;
      user: string;
      uid?: string;
      detail?: string;
      service?: string;
      actorUser?: string;
      step?: string;
      /** activity_name for activity 99 when it is the action itself (a rename, a shell change). */
      name?: string;
    }
  | {
      kind: 'group';
      /** 3006 Group Management: 3 Add User, 4 Remove User, 5 Delete, 6 Create, 99 Other. */
      activity: 3 | 4 | 5 | 6 | 99;
      group: string;
      gid?: string;
      user?: string;
      actorUser?: string;
      detail?: string;
      step?: string;
      name?: string;
    };

type Rule = [RegExp, (m: RegExpExecArray) => AuthFact | undefined];

/** PAM services whose program writes its own line for the decision (sshd "Accepted"/"Failed", su "(to B)"/"FAILED
 * SU", sudo's COMMAND line, login's "FAILED LOGIN"): their pam_unix auth and session lines are steps. Any other
 * service (cron, gdm, vsftpd…) logs nothing else: its pam_unix lines are the logon, logoff or failure. */
const SELF_LOGGING_SERVICES = new Set([
  'sshd',
  'su',
  'su-l',
  'sudo',
  'sudo-i',
  'runuser',
  'runuser-l',
  'login',
  'systemd-user',
]);
/** Services that run as a daemon's own (root) identity: the `uid`/`by (uid=0)` PAM logs for them is the daemon's. */
const DAEMON_SERVICES = new Set(['sshd', 'login', 'cron', 'crond', 'atd', 'systemd-user']);

/** ` from IP[ port P]`, at the start of the text it is applied to. */
const FROM_AT_START = /^ from (\S+)(?: port (\d+))?/;

/** A rule for sshd's `PREFIX U from IP[ port P]…` lines: a failed attempt for the user `attempt` finds. */
function attemptRule(
  prefix: RegExp,
  portRequired: boolean,
  facts: (m: RegExpExecArray) => Omit<Extract<AuthFact, { kind: 'auth' }>, 'kind' | 'activity' | 'ok'>,
): Rule {
  return [
    prefix,
    (m) => {
      const who = attempt(m, portRequired);
      return who && { kind: 'auth', activity: 1, ok: false, ...who, ...facts(m) };
    },
  ];
}

const RULES: Rule[] = [
  [
    /^Accepted (\S+) for (\S+) from (\S+) port (\d+)(?: [^\s:]+)?(?:: (\S+) (\S+))?/,
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
  attemptRule(/^Failed (\S+) for (invalid user )?/, true, (m) => ({
    method: m[1]!,
    detail: m[2] ? `Failed ${m[1]} for invalid user` : `Failed ${m[1]}`,
    ...(m[2] ? { invalidUser: true } : {}),
  })),
  attemptRule(/^Invalid user /, false, () => ({ detail: 'Invalid user', invalidUser: true, step: 'Invalid User' })),
  attemptRule(/^(?:error: )?maximum authentication attempts exceeded for (invalid user )?/, true, (m) => ({
    detail: 'maximum authentication attempts exceeded',
    step: 'Too Many Attempts',
    ...(m[1] ? { invalidUser: true } : {}),
  })),
  [
    /^(Disconnected from|Connection closed by|Connection reset by) (invalid user|authenticating user|user) /,
    (m) => {
      const rest = m.input.slice(m[0].length);
      // `U IP port P [preauth]`: the user (possibly empty, possibly with spaces) is what precedes the last address.
      const portAt = rest.lastIndexOf(' port ');
      if (portAt < 0) return undefined;
      const port = /^ port (\d+)/.exec(rest.slice(portAt));
      const ipStart = rest.lastIndexOf(' ', portAt - 1);
      const user = ipStart < 0 ? '' : rest.slice(0, ipStart);
      const ip = rest.slice(ipStart + 1, portAt);
      if (!port || ip === '') return undefined;
      if (m[2] === 'user') return { kind: 'auth', activity: 2, ok: true, user, srcIp: ip, srcPort: Number(port[1]) };
      // Before authentication completed: the connection ends; the failure itself was logged ("Failed …").
      return {
        kind: 'connection',
        activity: m[1] === 'Connection reset by' ? 3 : 2,
        srcIp: ip,
        srcPort: Number(port[1]),
        detail: `${m[1]} ${m[2]} before authentication completed`,
        ...(user ? { user } : {}),
        ...(m[2] === 'invalid user' ? { invalidUser: true } : {}),
      };
    },
  ],
  [
    /^Close session: user (\S+) from (\S+) port (\d+) id (\d+)/,
    (m) => ({ kind: 'auth', activity: 2, ok: true, user: m[1]!, srcIp: m[2]!, srcPort: Number(m[3]), session: m[4]! }),
  ],
  [
    /^pam_unix\(([^:)]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)(?:\(uid=(\d+)\))?)?/,
    (m) => {
      const service = m[1]!;
      const opened = m[2] === 'opened';
      const byDaemon = DAEMON_SERVICES.has(service);
      return {
        kind: 'auth',
        activity: opened ? 1 : 2,
        ok: true,
        service,
        user: m[3]!,
        ...(m[4] ? { uid: m[4] } : {}),
        ...(m[5] && !byDaemon ? { actorUser: m[5] } : {}),
        ...(m[6] && !byDaemon ? { actorUid: m[6] } : {}),
        ...(SELF_LOGGING_SERVICES.has(service) ? { step: opened ? 'Session Open' : 'Session Close' } : {}),
      };
    },
  ],
  [
    /^pam_unix\(([^:)]+):auth\): authentication failure; (.*)$/,
    (m) => {
      const service = m[1]!;
      const kv = keyValues(m[2]!);
      const invoker = kv.ruser || kv.logname;
      return {
        kind: 'auth',
        activity: service.startsWith('su') || service.startsWith('runuser') ? 7 : 1,
        ok: false,
        service,
        // Without user= PAM did not know the account (sshd's invalid users): still an authentication failure.
        ...(kv.user ? { user: kv.user } : {}),
        // uid= is the invoking process's real uid: the invoker of su/sudo, but sshd's own (0) for a login.
        ...(invoker ? { actorUser: invoker } : {}),
        ...(kv.uid && !DAEMON_SERVICES.has(service) ? { actorUid: kv.uid } : {}),
        ...(kv.rhost ? { srcIp: kv.rhost } : {}),
        ...(kv.tty ? { tty: kv.tty } : {}),
        detail: 'authentication failure',
        ...(SELF_LOGGING_SERVICES.has(service) ? { step: 'Authenticate' } : {}),
      };
    },
  ],
  [
    /^pam_unix\(([^:)]+):auth\): check pass; user unknown$/,
    (m) => ({ kind: 'auth', activity: 1, ok: false, service: m[1]!, detail: 'user unknown', step: 'Authenticate' }),
  ],
  [
    /^PAM (\d+) more authentication failures?; (.*)$/,
    (m) => {
      const kv = keyValues(m[2]!);
      return {
        kind: 'auth',
        activity: 1,
        ok: false,
        ...(kv.user ? { user: kv.user } : {}),
        ...(kv.rhost ? { srcIp: kv.rhost } : {}),
        detail: `${m[1]} more authentication failures`,
        step: 'Repeated Failures',
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
      step: 'Failure Tally',
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
    (m) => ({
      kind: 'auth',
      activity: 1,
      ok: false,
      user: m[1]!,
      srcIp: m[2]!,
      detail: `not allowed because ${m[3]}`,
      step: 'Not Allowed',
    }),
  ],
  // su (util-linux, shadow's su, busybox)
  [
    /^(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)$/,
    (m) => ({
      kind: 'auth',
      activity: 7,
      ok: !m[1],
      user: m[2]!,
      actorUser: m[3]!,
      tty: m[4]!,
      service: 'su',
    }),
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
  // shadow-utils (useradd, userdel, usermod, groupadd, groupdel, groupmod, gpasswd)
  [/^new user: name=([^,]+), UID=(\d+)/, (m) => ({ kind: 'account', activity: 1, user: m[1]!, uid: m[2]! })],
  [/^new group: name=([^,]+), GID=(\d+)/, (m) => ({ kind: 'group', activity: 6, group: m[1]!, gid: m[2]! })],
  [
    /^group added to (\S+): name=([^,]+)(?:, GID=(\d+))?/,
    (m) => ({ kind: 'group', activity: 6, group: m[2]!, ...(m[3] ? { gid: m[3] } : {}), step: `Add to ${m[1]}` }),
  ],
  [/^delete user '([^']+)'$/, (m) => ({ kind: 'account', activity: 6, user: m[1]! })],
  [
    // usermod -aG (add) and userdel (delete): the /etc/gshadow half is a step.
    /^(add|delete) '([^']+)' (?:to|from) (shadow )?group '([^']+)'$/,
    (m) => ({
      kind: 'group',
      activity: m[1] === 'add' ? 3 : 4,
      user: m[2]!,
      group: m[4]!,
      ...(m[3] ? { step: m[1] === 'add' ? 'Add User to /etc/gshadow' : 'Remove User from /etc/gshadow' } : {}),
    }),
  ],
  [
    /^removed (shadow )?group '([^']+)' owned by '([^']+)'$/,
    (m) => ({
      kind: 'group',
      activity: 5,
      group: m[2]!,
      detail: `owned by ${m[3]}`,
      ...(m[1] ? { step: 'Delete from /etc/gshadow' } : {}),
    }),
  ],
  [
    /^group '([^']+)' removed( from (\S+))?$/,
    (m) => ({ kind: 'group', activity: 5, group: m[1]!, ...(m[2] ? { step: `Delete from ${m[3]}` } : {}) }),
  ],
  [
    /^user (\S+) (added by (\S+) to|removed by (\S+) from) group (\S+)$/,
    (m) => ({
      kind: 'group',
      activity: m[3] ? 3 : 4,
      user: m[1]!,
      group: m[5]!,
      actorUser: (m[3] ?? m[4])!,
    }),
  ],
  [
    /^group changed in (\S+) \(group ([^/,)]+)(?:\/(\d+))?, (.*)\)$/,
    (m) => ({
      kind: 'group',
      activity: 99,
      group: m[2]!,
      ...(m[3] ? { gid: m[3] } : {}),
      detail: m[4]!,
      ...(m[1] === '/etc/group' ? { name: 'Modify' } : { step: `Modify ${m[1]}` }),
    }),
  ],
  [/^change user '([^']+)' password$/, (m) => ({ kind: 'account', activity: 3, user: m[1]! })],
  [/^lock user '([^']+)' password$/, (m) => ({ kind: 'account', activity: 9, user: m[1]! })],
  [/^unlock user '([^']+)' password$/, (m) => ({ kind: 'account', activity: 12, user: m[1]! })],
  [
    /^change user name '([^']+)' to '([^']+)'$/,
    (m) => ({ kind: 'account', activity: 99, user: m[1]!, detail: `new name ${m[2]}`, name: 'Rename' }),
  ],
  [
    /^change user '([^']+)' (\S+) from '([^']*)' to '([^']*)'$/,
    (m) => ({ kind: 'account', activity: 99, user: m[1]!, detail: `${m[2]} ${m[3]} → ${m[4]}`, name: 'Modify' }),
  ],
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
  /^(?:Accepted |Failed |Invalid user |Disconnected from |Connection (?:closed|reset|from) |Close session|pam_|PAM |error: maximum|maximum auth|Received disconnect|Timeout before|fatal: Timeout|Unable to negotiate|Did not receive|banner exchange|refused connect|User \S+ from|ssh_dispatch_run_fatal|Magic value|FAILED SU |\(to )/;

export function classifyAuthMessage(message: string): AuthFact | undefined {
  for (const [re, build] of RULES) {
    const m = re.exec(message);
    if (m) {
      const fact = build(m);
      if (fact) return fact;
    }
  }
  return sudoFact(message);
}

/**
 * sudo's log line: `INVOKER : [REASON ; ]TTY=T ; PWD=D ; USER=U ; [GROUP=G ; ][TSID=… ; ][ENV=… ; ]COMMAND=C`. TTY is
 * absent when sudo ran without a terminal; COMMAND is last and may itself hold " ; ". Read by splitting, not by one
 * regex: the optional parts make a pattern slow on hostile lines.
 */
function sudoFact(message: string): AuthFact | undefined {
  const head = /^ *([^\s:]+) : /.exec(message);
  if (!head) return undefined;
  const commandAt = message.indexOf(' ; COMMAND=');
  const body = message.slice(head[0].length);
  const fields: Record<string, string> = {};
  const reasons: string[] = [];
  const parts = (commandAt < 0 ? body : message.slice(head[0].length, commandAt)).split(' ; ');
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq) : '';
    if (/^[A-Z]+$/.test(key)) fields[key] = part.slice(eq + 1);
    else reasons.push(part);
  }
  if (commandAt >= 0) fields.COMMAND = message.slice(commandAt + ' ; COMMAND='.length);
  if (fields.USER === undefined || (fields.COMMAND === undefined && fields.PWD === undefined)) return undefined;
  const reason = reasons.join(' ; ');
  return {
    kind: 'auth',
    activity: 7,
    ok: reason === '',
    actorUser: head[1]!,
    user: fields.USER,
    ...(fields.TTY && fields.TTY !== 'unknown' ? { tty: fields.TTY } : {}),
    ...(fields.PWD !== undefined ? { pwd: fields.PWD } : {}),
    ...(fields.COMMAND !== undefined ? { command: fields.COMMAND } : {}),
    service: 'sudo',
    ...(reason ? { detail: reason } : {}),
  };
}

/**
 * The user and client of `U from IP[ port P]…` after the matched prefix: the user (possibly empty: unknown) is what
 * precedes the last " from ", so a name holding " from " is kept whole.
 */
function attempt(
  m: RegExpExecArray,
  portRequired: boolean,
): { user?: string; srcIp: string; srcPort?: number } | undefined {
  const rest = m.input.slice(m[0].length);
  const at = rest.lastIndexOf(' from ');
  if (at < 0) return undefined;
  const client = FROM_AT_START.exec(rest.slice(at));
  if (!client || (portRequired && !client[2])) return undefined;
  return {
    ...(at > 0 ? { user: rest.slice(0, at) } : {}),
    srcIp: client[1]!,
    ...(client[2] ? { srcPort: Number(client[2]) } : {}),
  };
}

/** `a=1 b= c=x` (PAM's key=value lists, values without spaces, possibly empty). */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // `\b` first: a key starts a word, so a long run of word characters without `=` is tried once, not at each of its
  // characters (quadratic).
  for (const m of text.matchAll(/\b(\w+)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}
