// Which OCSF class and activity an audit user-space message (PAM, sshd, su, sudo, shadow-utils) gets, and whether it
// is the record that decides an action or a step of one. One action writes several records: a failed ssh password
// writes USER_AUTH and USER_LOGIN, a useradd ADD_GROUP and two ADD_USERs, a successful su six records. Exactly one
// record per action carries the action's class and activity; the others keep their class with activity 99 Other
// and the step's name, so that counting Logon, Account Switch or Account Create events counts actions, the same
// count the auth log gives (src/parsers/auth-messages.ts makes the same choice there; docs/ocsf-mapping.md has the
// table per action).

/** What kind of program wrote the record (from its `exe`): it decides which record is an action's decision. */
export type ProgramKind = 'switch' | 'sudo' | 'login' | 'admin';

/** Account switch programs whose authentication is the switch (su, runuser). */
const SWITCH = new Set(['su', 'runuser', 'ksu']);
/** sudo decides in its own USER_CMD record (also without any authentication, with cached credentials). */
const SUDO = new Set(['sudo', 'sudoedit', 'sudo-rs']);
/** Account and password tools: their PAM authentication is not a logon. */
const ADMIN = new Set([
  'passwd',
  'chfn',
  'chsh',
  'chage',
  'chpasswd',
  'newusers',
  'useradd',
  'userdel',
  'usermod',
  'groupadd',
  'groupdel',
  'groupmod',
  'gpasswd',
  'pam_tally2',
  'faillock',
  'unix_chkpwd',
  'polkit-agent-helper-1',
]);

export function programKind(exe: string | undefined): ProgramKind {
  if (!exe) return 'login';
  const name = exe.slice(exe.lastIndexOf('/') + 1);
  if (SWITCH.has(name)) return 'switch';
  if (SUDO.has(name)) return 'sudo';
  if (ADMIN.has(name)) return 'admin';
  // sshd, login, cron, gdm, vsftpd… and any program nobody listed: a PAM login.
  return 'login';
}

export type UserMessageClass = 'authentication' | 'account_change' | 'group_management';

export interface UserMessageAction {
  cls: UserMessageClass;
  /** The OCSF activity_id (99 for a step, or for an action OCSF has no activity for). */
  activity: number;
  /** activity_name for activity 99: the step (`step` true), or the action's own name. */
  name?: string;
  /** The record is a step of an action another record decides. */
  step: boolean;
}

const action = (cls: UserMessageClass, activity: number, name?: string): UserMessageAction => ({
  cls,
  activity,
  step: false,
  ...(name ? { name } : {}),
});
const step = (cls: UserMessageClass, name: string): UserMessageAction => ({ cls, activity: 99, name, step: true });

/** PAM session and credential records: always steps (a session open is part of a logon or a switch). */
const AUTH_STEPS: Record<string, string> = {
  USER_ACCT: 'Account Check',
  CRED_ACQ: 'Credential Acquire',
  CRED_REFR: 'Credential Refresh',
  CRED_DISP: 'Credential Dispose',
  USER_START: 'Session Open',
  USER_LOGIN: 'Login Record',
  USER_LOGOUT: 'Logout Record',
  USER_ERR: 'Error',
  USER_ROLE_CHANGE: 'Role Change',
};

/** shadow-utils `op=` values that are a step of the action another record of the same run decides (older
 * shadow-utils, as on RHEL 7, writes `add-home-dir`, `add-shadow-group` under USER_MGMT and GRP_MGMT). */
const ACCOUNT_STEPS: Record<string, string> = {
  'adding home directory': 'Create Home Directory',
  'add-home-dir': 'Create Home Directory',
  'adding SELinux user mapping': 'Add SELinux Mapping',
  'adding shadow password': 'Add Shadow Password',
  'deleting home directory': 'Delete Home Directory',
  'deleting mail file': 'Delete Mail File',
  'removing SELinux user mapping': 'Remove SELinux Mapping',
};
const GROUP_STEPS: Record<string, string> = {
  'add-shadow-group': 'Add to /etc/gshadow',
  'adding group to /etc/group': 'Add to /etc/group',
  'adding group to /etc/gshadow': 'Add to /etc/gshadow',
  'removing group from /etc/group': 'Delete from /etc/group',
  'removing group from /etc/gshadow': 'Delete from /etc/gshadow',
  'deleting shadow group': 'Delete from /etc/gshadow',
  'adding user to shadow group': 'Add User to /etc/gshadow',
  'deleting user from shadow group': 'Remove User from /etc/gshadow',
  'changing admin name in shadow group': 'Modify /etc/gshadow',
  'changing member in shadow group': 'Modify /etc/gshadow',
};

/**
 * The class, activity and role of a user-space message of `type` (not LOGIN, a kernel record) with operation `op`,
 * written by `exe`, with result `ok`. Undefined: not an authentication, account or group record.
 */
export function userMessageAction(
  type: string,
  op: string | undefined,
  exe: string | undefined,
  ok: boolean | undefined,
): UserMessageAction | undefined {
  const kind = programKind(exe);
  switch (type) {
    case 'USER_AUTH':
      if (kind === 'switch') return action('authentication', 7);
      if (kind === 'sudo') return step('authentication', 'Authenticate');
      if (kind === 'admin') return action('authentication', 99, 'Authenticate');
      // A login's failed authentication is the failed logon; a successful one is followed by the session (LOGIN).
      return ok === false ? action('authentication', 1) : step('authentication', 'Authenticate');
    case 'USER_CMD':
      return action('authentication', 7);
    case 'USER_END':
      return kind === 'login' ? action('authentication', 2) : step('authentication', 'Session Close');
    case 'USER_ACCT':
      if (op === undefined || op.startsWith('PAM:')) return step('authentication', AUTH_STEPS.USER_ACCT!);
      return groupOperation(op) ?? step('authentication', AUTH_STEPS.USER_ACCT!);
    case 'ADD_USER':
      return accountStep(op) ?? action('account_change', 1);
    case 'DEL_USER':
      if (op === 'deleting user from group') return action('group_management', 4);
      if (op && GROUP_STEPS[op]) return step('group_management', GROUP_STEPS[op]);
      return accountStep(op) ?? action('account_change', 6);
    case 'USER_CHAUTHTOK':
      if (op === 'adding user to group') return action('group_management', 3);
      if (op === 'changing group member') return action('group_management', 99, 'Modify');
      if (op && GROUP_STEPS[op]) return step('group_management', GROUP_STEPS[op]);
      if (op === undefined || op.startsWith('PAM:') || op === 'changing password') return action('account_change', 3);
      // usermod's other changes (name, uid, shell, home, expiry; -L/-U write "updating passwd/password").
      return action('account_change', 99, 'Modify');
    case 'ACCT_LOCK':
      return action('account_change', 9);
    case 'ACCT_UNLOCK':
      return action('account_change', 12);
    case 'ROLE_ASSIGN':
      return action('account_change', 7);
    case 'ROLE_REMOVE':
      return action('account_change', 8);
    case 'USER_MGMT':
    case 'ROLE_MODIFY':
      return accountStep(op) ?? action('account_change', 99, 'Modify');
    case 'ADD_GROUP':
      return op && GROUP_STEPS[op] ? step('group_management', GROUP_STEPS[op]) : action('group_management', 6);
    case 'DEL_GROUP':
      return op && GROUP_STEPS[op] ? step('group_management', GROUP_STEPS[op]) : action('group_management', 5);
    case 'GRP_MGMT':
      return op && GROUP_STEPS[op]
        ? step('group_management', GROUP_STEPS[op])
        : action('group_management', 99, 'Modify');
    case 'GRP_CHAUTHTOK':
      return action('group_management', 99, 'Password Change');
    default: {
      const s = AUTH_STEPS[type];
      return s ? step('authentication', s) : undefined;
    }
  }
}

function accountStep(op: string | undefined): UserMessageAction | undefined {
  const s = op ? ACCOUNT_STEPS[op] : undefined;
  return s ? step('account_change', s) : undefined;
}

/** gpasswd's and groupmod's USER_ACCT operations (`user U removed by R from group G`, `modifying group`…). */
function groupOperation(op: string): UserMessageAction | undefined {
  const member = GPASSWD_OP.exec(op);
  if (member) return action('group_management', member[2] === 'added' ? 3 : 4);
  if (op === 'modifying group') return action('group_management', 99, 'Modify');
  const file = /^changing (\/etc\/g?shadow|\/etc\/group);/.exec(op);
  if (file) return step('group_management', `Modify ${file[1]}`);
  return undefined;
}

/** sshd's authentication methods as some distributions' sshd writes them in `op=` (RHEL: `op=pubkey_auth rport=…`),
 * by the names sshd's own log uses ("Accepted publickey"). */
const LOGIN_METHODS: Record<string, string> = {
  password: 'password',
  pubkey: 'publickey',
  pubkey_auth: 'publickey',
  publickey: 'publickey',
  hostbased: 'hostbased',
  hostbased_auth: 'hostbased',
  'keyboard-interactive': 'keyboard-interactive',
  'gssapi-with-mic': 'gssapi-with-mic',
};

export function loginMethod(op: string | undefined): string | undefined {
  return op === undefined ? undefined : LOGIN_METHODS[op];
}

/** gpasswd's operation text: `user U added by R to group G` / `user U removed by R from group G`. */
export const GPASSWD_OP = /^user (\S+) (added|removed) by (\S+) (?:to|from) group (\S+)$/;
