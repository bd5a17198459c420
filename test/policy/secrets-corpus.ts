// Secrets planted in every input family Outrider reads (the tests search every output for SECRETS: none may
// appear), and the small config the policy tests build rules into.

export const SECRETS = {
  mysql: 'S3cretMysql',
  passwordArgument: 'hunter2pass',
  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  awsSecretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  gcpApiKey: 'AIzaSyA1234567890abcdefghijklmnopqrstuv',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2VjcmV0',
  curlPassword: 'curlPassw0rd',
  urlPassword: 'urlPassw0rd',
  bearer: 'tok_live_abcdef123456',
  azureKey: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==',
  pemBody: 'MIIEowIBAAKCAQEAsecretkeymaterial',
  k8sSecretValue: 'c3VwZXJzZWNyZXQ=',
  sshUserTypedToken: 'AKIAJSECRETUSERNAME1',
} as const;

const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();

/** Every secret, plus encodings under which it would still be readable (auditd hex). */
export const FORBIDDEN: string[] = [...Object.values(SECRETS), hex(SECRETS.mysql), hex(`-p${SECRETS.mysql}`)];

const S = SECRETS;
const pem = `-----BEGIN RSA PRIVATE KEY-----\n${S.pemBody}\n-----END RSA PRIVATE KEY-----`;

export const containerMessages = [
  `connecting with mysql -h db -u app -p${S.mysql} appdb`,
  `starting worker --db-password=${S.passwordArgument} --port 5432`,
  `aws configured: AWS_ACCESS_KEY_ID=${S.awsAccessKeyId} aws_secret_access_key=${S.awsSecretKey}`,
  `GET /maps?key=${S.gcpApiKey}`,
  `request headers: {"Authorization": "Bearer ${S.bearer}", "Accept": "*/*"}`,
  `session token ${S.jwt} accepted`,
  `running curl -s -u admin:${S.curlPassword} https://api.internal/health`,
  `connecting to postgres://app:${S.urlPassword}@db.internal:5432/app`,
  `storage: DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${S.azureKey};EndpointSuffix=core.windows.net`,
  `loaded key ${pem}`,
];

/** Docker json-file lines: plain text logs and one structured JSON log. */
export function containerJsonLines(): string {
  const lines = containerMessages.map((log, i) =>
    JSON.stringify({ log: `${log}\n`, stream: 'stdout', time: `2026-01-02T03:04:${String(i).padStart(2, '0')}Z` }),
  );
  const structured = JSON.stringify({
    level: 'info',
    msg: 'login',
    password: S.passwordArgument,
    headers: { authorization: `Bearer ${S.bearer}` },
  });
  lines.push(JSON.stringify({ log: `${structured}\n`, stream: 'stdout', time: '2026-01-02T03:05:00Z' }));
  return `${lines.join('\n')}\n`;
}

export function auditdLines(): string {
  const t = 'audit(1767323045.100:901)';
  const t2 = 'audit(1767323045.200:902)';
  return `${[
    `type=SYSCALL msg=${t}: arch=c000003e syscall=59 success=yes exit=0 a0=55 a1=56 a2=57 a3=0 items=2 ppid=100 pid=101 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="mysql" exe="/usr/bin/mysql" key="exec"`,
    `type=EXECVE msg=${t}: argc=3 a0="mysql" a1="-uroot" a2="-p${S.mysql}"`,
    `type=CWD msg=${t}: cwd="/root"`,
    `type=PROCTITLE msg=${t}: proctitle=${hex(`mysql\0-uroot\0-p${S.mysql}`)}`,
    `type=EOE msg=${t}:`,
    `type=SYSCALL msg=${t2}: arch=c000003e syscall=59 success=yes exit=0 a0=55 a1=56 a2=57 a3=0 items=2 ppid=100 pid=102 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" key="exec"`,
    `type=EXECVE msg=${t2}: argc=4 a0="curl" a1="-u" a2="admin:${S.curlPassword}" a3=${hex('https://x.example/a b')}`,
    `type=PROCTITLE msg=${t2}: proctitle=${hex(`curl\0-u\0admin:${S.curlPassword}\0https://x.example/a b`)}`,
    `type=EOE msg=${t2}:`,
  ].join('\n')}\n`;
}

export function k8sAuditLines(): string {
  const secret = {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 'db', namespace: 'prod' },
    data: { password: S.k8sSecretValue },
    stringData: { token: S.bearer },
  };
  const base = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'admin', groups: ['system:masters'] },
    sourceIPs: ['10.0.0.1'],
    userAgent: 'kubectl/v1.30.0',
    requestReceivedTimestamp: '2026-01-02T03:04:05.000000Z',
    stageTimestamp: '2026-01-02T03:04:05.010000Z',
  };
  return `${[
    {
      ...base,
      auditID: '11111111-1111-1111-1111-111111111111',
      requestURI: '/api/v1/namespaces/prod/secrets',
      objectRef: { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' },
      requestObject: secret,
      responseObject: secret,
      responseStatus: { metadata: {}, code: 201 },
    },
    {
      ...base,
      auditID: '22222222-2222-2222-2222-222222222222',
      verb: 'create',
      requestURI: '/apis/authentication.k8s.io/v1/tokenreviews',
      objectRef: { resource: 'tokenreviews', apiGroup: 'authentication.k8s.io', apiVersion: 'v1' },
      requestObject: { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', spec: { token: S.jwt } },
      responseStatus: { metadata: {}, code: 201 },
    },
  ]
    .map((e) => JSON.stringify(e))
    .join('\n')}\n`;
}

export function sshdLines(): string {
  return `${[
    `Jan  2 03:04:05 host sshd[4242]: Invalid user ${S.sshUserTypedToken} from 10.0.0.9 port 50000`,
    `Jan  2 03:04:06 host sshd[4242]: Failed password for invalid user ${S.sshUserTypedToken} from 10.0.0.9 port 50000 ssh2`,
    `Jan  2 03:04:07 host sudo: admin : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/mysql -p${S.mysql}`,
  ].join('\n')}\n`;
}

export function nginxLines(): string {
  return `${[
    `10.0.0.5 - - [02/Jan/2026:03:04:05 +0000] "GET http://bob:${S.urlPassword}@proxy.example/ HTTP/1.1" 200 12 "-" "curl/8.0"`,
    `10.0.0.5 - - [02/Jan/2026:03:04:06 +0000] "GET /api/v1/items?access_token=${S.bearer}&page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0"`,
    `10.0.0.5 - - [02/Jan/2026:03:04:07 +0000] "GET /login?user=a&password=${S.passwordArgument} HTTP/1.1" 302 0 "https://x.example/?token=${S.jwt}" "Mozilla/5.0"`,
  ].join('\n')}\n`;
}

export function falcoLines(): string {
  const cmd = `mysql -uroot -p${S.mysql} -e select`;
  return `${JSON.stringify({
    hostname: 'node-1',
    output: `2026-01-02T03:04:05.000000000+0000: Notice Database client run with password (user=root command=${cmd} container_id=abc)`,
    priority: 'Notice',
    rule: 'DB client with password',
    source: 'syscall',
    tags: ['process'],
    time: '2026-01-02T03:04:05.000000000Z',
    output_fields: { 'proc.cmdline': cmd, 'user.name': 'root', 'container.id': 'abc' },
  })}\n`;
}

/** Each file-source format with its lines. */
export const SECURITY_INPUTS: Array<{ format: string; text: () => string }> = [
  { format: 'auditd', text: auditdLines },
  { format: 'k8s-audit', text: k8sAuditLines },
  { format: 'syslog-auth', text: sshdLines },
  { format: 'nginx', text: nginxLines },
  { format: 'falco', text: falcoLines },
];

/** A config with an nginx file source, a rules transform `policy` holding `rules` (YAML lines), and `sinks`. */
export function rulesConfigText(rules: string, sinks = 'siem: {type: stdout, inputs: [policy]}'): string {
  return `
sources: {web: {type: file, format: nginx, include: [/tmp/none.log]}}
transforms:
  policy:
    type: rules
    inputs: [web]
    rules:
${rules}
sinks: {${sinks}}
`;
}
