// The per-program table of secrets given as arguments (src/policy/command-line.ts) through the redactor: which flag
// carries a secret depends on the program, in every form a command line reaches Outrider.
import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACTION } from '../../src/policy/redaction-config.ts';
import { Redactor } from '../../src/policy/redactor.ts';

const redactor = new Redactor(DEFAULT_REDACTION);
const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();

describe('secrets given to known programs as arguments', () => {
  it.each([
    ['sshpass -p S3cret ssh -p 22 host', 'sshpass -p *** ssh -p 22 host'],
    ['sshpass -pS3cret ssh host', 'sshpass -p*** ssh host'],
    ["sshpass -p 'two S3cret' ssh host", "sshpass -p '***' ssh host"],
    ['mysql -pS3cret db', 'mysql -p*** db'],
    ['mongosh -u admin -p S3cret', 'mongosh -u admin -p ***'],
    ['redis-cli -a S3cret ping', 'redis-cli -a *** ping'],
    ['redis-cli --pass S3cret', 'redis-cli --pass ***'],
    ['smbclient //srv/share -U bob%S3cret', 'smbclient //srv/share -U bob%***'],
    ['smbclient //srv/share S3cret -U bob', 'smbclient //srv/share *** -U bob'],
    ['htpasswd -b /etc/htpasswd bob S3cret', 'htpasswd -b /etc/htpasswd bob ***'],
    ['htpasswd -nb bob S3cret', 'htpasswd -nb bob ***'],
    ['openssl enc -aes256 -pass pass:S3cret -in f', 'openssl enc -aes256 -pass pass:*** -in f'],
    ['openssl rsa -passin env:VAR -passout pass:S3cret', 'openssl rsa -passin env:VAR -passout pass:***'],
    ['ldapsearch -x -D cn=admin -w S3cret -b dc=x', 'ldapsearch -x -D cn=admin -w *** -b dc=x'],
    ['curl -u admin:S3cret https://x', 'curl -u admin:*** https://x'],
    ['curl -uadmin:S3cret x', 'curl -uadmin:*** x'],
    ['wget --password S3cret http://x', 'wget --password *** http://x'],
    ['docker login -u bob -p S3cret registry', 'docker login -u bob -p *** registry'],
    ['kubectl --token S3cret get pods', 'kubectl --token *** get pods'],
    ['vault login S3cret', 'vault login ***'],
    ['aws configure set aws_secret_access_key S3cret', 'aws configure set aws_secret_access_key ***'],
    ['ipmitool -I lanplus -U admin -P S3cret chassis status', 'ipmitool -I lanplus -U admin -P *** chassis status'],
    ['sqlplus scott/S3cret@orcl', 'sqlplus scott/***@orcl'],
    ['COMMAND=/usr/bin/mysql -pS3cret', 'COMMAND=/usr/bin/mysql -p***'],
    ['{"cmd":"redis-cli -a S3cret ping"}', '{"cmd":"redis-cli -a *** ping"}'],
    ['x mysql; redis-cli -a S3cret', 'x mysql; redis-cli -a ***'],
    ['app --secret-id S3cret', 'app --secret-id ***'],
    ['SECRET_KEY=S3cret', 'SECRET_KEY=***'],
    [
      'type=EXECVE msg=audit(1.2:3): argc=5 a0="sshpass" a1="-p" a2="S3cret" a3="ssh" a4="host"',
      'type=EXECVE msg=audit(1.2:3): argc=5 a0="sshpass" a1="-p" a2="***" a3="ssh" a4="host"',
    ],
    [
      `type=EXECVE msg=audit(1.2:3): argc=5 a0="sshpass" a1="-p" a2=${hex('my S3cret')} a3="ssh" a4="host"`,
      'type=EXECVE msg=audit(1.2:3): argc=5 a0="sshpass" a1="-p" a2="***" a3="ssh" a4="host"',
    ],
    [
      `type=PROCTITLE msg=audit(1.2:3): proctitle=${hex('sshpass\0-p\0two S3cret\0ssh\0host')}`,
      `type=PROCTITLE msg=audit(1.2:3): proctitle="sshpass -p '***' ssh host"`,
    ],
  ])('%s', (input, expected) => {
    expect(redactor.redactText(input)).toBe(expected);
  });

  it('leaves the same flags alone where they are no secret', () => {
    for (const text of [
      'ssh -p 2222 host',
      'mysql -u root -p mydb',
      'mysql -h db -P 3306 -u app',
      'docker run -p 8080:80 nginx',
      'htpasswd -c /etc/h bob',
      'connected to mysql server',
      'scp -P 2222 file host:',
    ])
      expect(redactor.redactText(text)).toBe(text);
  });
});
