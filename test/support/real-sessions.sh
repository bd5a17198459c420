#!/bin/bash
# Scripted real sessions on this host, recorded by the real daemons: what docs/ocsf-mapping.md's action table is
# tested against (test/support/real-sessions.ts runs it; test/corpus/real-sessions/ holds one recorded run).
#
# Usage: real-sessions.sh OUTDIR   (root; auditd running; sshd, rsyslogd, systemd-journald, sudo, unshare installed)
#   WITH_DOCKER=1  also a container with a volume and a `docker exec` as the test user
#
# What it starts, each its own and stopped by pid: rsyslogd (own config, writes OUTDIR/*.log in three stock
# templates), systemd-journald (without the capabilities to touch kernel auditing, forwarding to that rsyslogd),
# sshd on 127.0.0.1 (own host key, own port). The programs run in a private mount namespace whose /dev/log and /run
# are that journald's, so nothing reaches (or comes from) the host's logging. Audit rules carry the key
# outrider-real-<ID> and filter on the two test uids; users, group, sudoers drop-in and rules are removed on exit.
# Each scenario's wall-clock span is written to OUTDIR/marks.tsv (name, start, end in epoch seconds).
set -u
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
ID=${ID:-$$}
KEY=outrider-real-$ID
UA=or${ID}a
UB=or${ID}b
G=org${ID}
UIDA=$((40000 + ID % 20000))
# Ids nobody on this host has.
taken() { for i in 0 1 2; do getent passwd $(($1 + i)) >/dev/null || getent group $(($1 + i)) >/dev/null && return 0; done; return 1; }
while taken "$UIDA"; do
  UIDA=$((UIDA + 3))
done
UIDB=$((UIDA + 1))
GIDG=$((UIDA + 2))
PWA=pwA-$ID
PWB=pwB-$ID
PORT=$((20000 + ID % 20000))
T=$OUT/tmp
mkdir -p "$T/run/systemd/journal" "$T/run/sshd"
# The test users reach /dev (links into this directory) and /run (bound from it) through it.
chmod 755 "$OUT" "$T"
export TZ=UTC LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

R1="always,exit -F arch=b64 -S execve,connect -F uid=$UIDA -k $KEY"
R2="always,exit -F arch=b64 -S open,openat -F uid=$UIDA -F exit=-EACCES -k $KEY"
R3="always,exit -F arch=b64 -S execve -F auid=$UIDA -k $KEY"

cleanup() {
  for f in sshd journald rsyslogd; do [ -s "$T/$f.pid" ] && kill "$(cat "$T/$f.pid")" 2>/dev/null; done
  if [ -n "${CONTAINER:-}" ]; then docker rm -f "$CONTAINER" >/dev/null 2>&1; docker volume rm "oav-$ID" >/dev/null 2>&1; fi
  userdel -r "$UA" 2>/dev/null
  userdel -r "$UB" 2>/dev/null
  groupdel "${G}x" 2>/dev/null
  groupdel "$G" 2>/dev/null
  rm -f "/etc/sudoers.d/outrider-real-$ID"
  # Exactly the rules this run added.
  auditctl -d $R1 2>/dev/null
  auditctl -d $R2 2>/dev/null
  auditctl -d $R3 2>/dev/null
  true
}
trap cleanup EXIT

mark() { echo -e "$1\t$2\t$3" >> "$OUT/marks.tsv"; }
now() { date +%s.%N; }
: > "$OUT/marks.tsv"
cat > "$OUT/session.env" <<EOF
ID=$ID
KEY=$KEY
UA=$UA
UIDA=$UIDA
UB=$UB
UIDB=$UIDB
G=$G
GIDG=$GIDG
PORT=$PORT
EOF

# rsyslogd where journald forwards (ForwardToSyslog writes to /run/systemd/journal/syslog).
cat > "$T/rsyslog.conf" <<EOF
global(workDirectory="$T")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/run/systemd/journal/syslog" CreatePath="on" RateLimit.Interval="0")
# Senders that speak RFC 5424 (with structured data, with a BOM): rsyslog's own parsers read them.
input(type="imuxsock" Socket="$T/rfc5424.sock" RateLimit.Interval="0" UseSpecialParser="off" ParseHostname="on")
auth,authpriv.* action(type="omfile" file="$OUT/auth.traditional.log" template="RSYSLOG_TraditionalFileFormat")
auth,authpriv.* action(type="omfile" file="$OUT/auth.file-format.log" template="RSYSLOG_FileFormat")
auth,authpriv.* action(type="omfile" file="$OUT/auth.protocol23.log" template="RSYSLOG_SyslogProtocol23Format")
EOF
rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog-own.pid" > "$T/rsyslogd.out" 2>&1 &
echo $! > "$T/rsyslogd.pid"
for i in $(seq 50); do [ -S "$T/run/systemd/journal/syslog" ] && break; sleep 0.1; done
printf '[Journal]\nForwardToSyslog=yes\nStorage=volatile\nRateLimitBurst=0\n' > "$T/journald.conf"

echo "$UB ALL=(ALL) ALL" > "/etc/sudoers.d/outrider-real-$ID"
chmod 440 "/etc/sudoers.d/outrider-real-$ID"
AUDIT_START=$(stat -c %s /var/log/audit/audit.log)
AUDIT_INODE=$(stat -c %i /var/log/audit/audit.log)
s=$(now)
auditctl -a $R1 && auditctl -a $R2 && auditctl -a $R3 || exit 1
mark audit-rules-added "$s" "$(now)"
sleep 1.2
echo "AUDIT_START=$AUDIT_START" >> "$OUT/session.env"

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
cat > "$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
PrintMotd no
EOF
printf '#!/bin/sh\ncat %s\n' "$T/password" > "$T/askpass"
chmod 755 "$T/askpass"

# The sessions, in a mount namespace of their own: /run is ours (journald's sockets, sshd's privsep dir, sudo's
# timestamps), /dev a copy whose `log` is our journald and whose ptys are a private devpts instance.
cat > "$T/sessions.sh" <<EOF
set -u
mark() { echo -e "\$1\t\$2\t\$3" >> "$OUT/marks.tsv"; }
now() { date +%s.%N; }
mount --bind "$T/run" /run
mount --bind "$T/journald.conf" /etc/systemd/journald.conf
# Without CAP_AUDIT_CONTROL/READ journald cannot switch kernel auditing off (its default) nor read the audit stream.
setpriv --inh-caps=-all --bounding-set=-audit_control,-audit_read,-audit_write /lib/systemd/systemd-journald \
  > "$T/journald.out" 2>&1 &
echo \$! > "$T/journald.pid"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/systemd/journal/dev-log ] && break; sleep 0.2; done
/usr/sbin/sshd -f "$T/sshd_config"
ssh_try() { # USER PASSWORD COMMAND…
  echo "\$2" > "$T/password"
  local user=\$1; shift 2
  SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force setsid ssh -p $PORT -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -o ConnectTimeout=5 \
    "\$user@127.0.0.1" "\$@"
}
as_user() { setpriv --reuid=\$1 --regid=\$1 --init-groups "\${@:2}"; }
gap() { sleep 1.2; }

s=\$(now); useradd -m -u $UIDA -s /bin/bash $UA; mark useradd \$s \$(now); gap
useradd -m -u $UIDB -s /bin/bash $UB; gap
s=\$(now); echo "$UA:$PWA" | chpasswd; mark chpasswd \$s \$(now); gap
echo "$UB:$PWB" | chpasswd; gap
s=\$(now); ssh_try $UA wrong true </dev/null; mark ssh-login-failed-password \$s \$(now); gap
s=\$(now); ssh_try nosuch$ID wrong true </dev/null; mark ssh-login-invalid-user \$s \$(now); gap
s=\$(now); ssh_try $UA $PWA "sh -c 'id | cat'; cat /etc/shadow; true" </dev/null; mark ssh-login \$s \$(now); gap
s=\$(now); (sleep 2; echo wrongpw; sleep 5) | ssh_try $UA $PWA "script -qec 'su - root -c true' /dev/null"
mark ssh-login-su-failed \$s \$(now); gap
s=\$(now); (sleep 1; echo wrongpw; sleep 4) | as_user $UIDA script -qec "su - root -c true" /dev/null
mark su-failed \$s \$(now); gap
s=\$(now); (sleep 1; echo $PWB; sleep 2) | as_user $UIDA script -qec "su $UB -c true" /dev/null
mark su \$s \$(now); gap
s=\$(now); echo $PWA | as_user $UIDA sudo -S -k true; mark sudo-refused \$s \$(now); gap
s=\$(now); printf 'bad\nbad\nbad\n' | as_user $UIDB sudo -S -k true; mark sudo-wrong-password \$s \$(now); gap
s=\$(now); (sleep 1; echo $PWB; sleep 2) | as_user $UIDB script -qec "sudo -k id" /dev/null; mark sudo \$s \$(now); gap
s=\$(now); echo $PWB | as_user $UIDB sudo -S -k id; mark sudo-no-tty \$s \$(now); gap
s=\$(now); groupadd -g $GIDG $G; mark groupadd \$s \$(now); gap
s=\$(now); usermod -aG $G $UA; mark usermod-add-to-group \$s \$(now); gap
s=\$(now); gpasswd -d $UA $G; mark gpasswd-remove-from-group \$s \$(now); gap
usermod -aG $G $UA; gap
s=\$(now); usermod -L $UA; mark usermod-lock \$s \$(now); gap
s=\$(now); as_user $UIDA cat /etc/shadow; mark denied-read \$s \$(now); gap
s=\$(now); as_user $UIDA sh -c '/nonexistent/prog-$ID "a b"'; mark failed-execve \$s \$(now); gap
s=\$(now); as_user $UIDA python3 -c "import socket; s=socket.socket(); s.setblocking(False); s.connect_ex(('127.0.0.1', $PORT))"
mark connect-in-progress \$s \$(now); gap
s=\$(now); as_user $UIDA python3 -c "import socket; socket.socket().connect_ex(('127.0.0.1', 1))"
mark connect-refused \$s \$(now); gap
s=\$(now); as_user $UIDA sh -c "echo 'a | b' | cat"; mark exec-quoted-argument \$s \$(now); gap
EOF
[ "${WITH_DOCKER:-0}" = 1 ] && echo 'echo docker > "'"$T"'/docker.go"; while [ ! -e "'"$T"'/docker.done" ]; do sleep 0.2; done' >> "$T/sessions.sh"
cat >> "$T/sessions.sh" <<EOF
s=\$(now); userdel -r $UA 2>/dev/null; mark userdel \$s \$(now); gap
s=\$(now); groupmod -n ${G}x $G; mark groupmod-rename \$s \$(now); gap
s=\$(now); groupdel ${G}x; mark groupdel \$s \$(now); gap
userdel -r $UB 2>/dev/null
sleep 1
mark journal-export \$(now) \$(now)
for f in export short short-iso short-iso-precise short-precise short-full short-unix; do
  journalctl -D /run/log/journal -o \$f _TRANSPORT=syslog > "$OUT/journal.\$f" 2>/dev/null
done
journalctl -D /run/log/journal -o json _TRANSPORT=syslog > "$OUT/journal.ndjson" 2>/dev/null
EOF

docker_session() {
  while [ ! -e "$T/docker.go" ]; do sleep 0.2; done
  CONTAINER=oa-real-$ID
  local s
  s=$(now)
  exec 2>> "$OUT/docker.err"
  docker volume create "oav-$ID" >/dev/null
  docker run -d --name "$CONTAINER" --label team=analyst --label com.example.tier=web -v "oav-$ID:/data" \
    outrider-test/busybox:2 sleep 60 >/dev/null
  mark docker-run "$s" "$(now)"
  sleep 1.2
  s=$(now)
  docker exec -u "$UIDA" "$CONTAINER" sh -c 'echo a | cat; sleep 1' >/dev/null &
  local exec=$!
  sleep 0.6
  docker top "$CONTAINER" -eo pid,args > "$OUT/docker-top.txt"
  wait $exec
  mark docker-exec "$s" "$(now)"
  sleep 1.2
  s=$(now)
  docker rm -f "$CONTAINER" >/dev/null
  docker volume rm "oav-$ID" >/dev/null
  mark docker-rm "$s" "$(now)"
  local id since=$(awk -F'\t' '$1=="docker-run"{print $2}' "$OUT/marks.tsv")
  docker events --since "$since" --until "$(now)" --format '{{json .}}' \
    | grep -E "\"oav-$ID\"|\"name\":\"$CONTAINER\"" > "$OUT/docker-events.ndjson"
  CONTAINER=
  touch "$T/docker.done"
}

SESSION_START=$(now)
if [ "${WITH_DOCKER:-0}" = 1 ]; then docker_session & DOCKER_PID=$!; fi
unshare -m --propagation private bash -c '
set -e
OLD=$(mktemp -d "$1/dev.XXXXXX")
chmod 755 "$OLD"
mount --rbind /dev "$OLD"
mount -t tmpfs -o mode=755 tmpfs /dev
for e in "$OLD"/* "$OLD"/.[!.]*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  n=$(basename "$e")
  case "$n" in
    ptmx) ln -s pts/ptmx /dev/ptmx ;;
    pts) mkdir -p /dev/pts; mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts ;;
    shm|mqueue) mkdir -p "/dev/$n"; mount --rbind "$e" "/dev/$n" ;;
    *) if [ -L "$e" ]; then cp -P "$e" "/dev/$n"; else ln -s "$e" "/dev/$n"; fi ;;
  esac
done
ln -s /run/systemd/journal/dev-log /dev/log
bash "$1/sessions.sh"
' ns "$T" > "$T/sessions.out" 2>&1
[ -n "${DOCKER_PID:-}" ] && wait "$DOCKER_PID"
for f in sshd journald; do [ -s "$T/$f.pid" ] && kill "$(cat "$T/$f.pid")" 2>/dev/null; done
sleep 1.2
# RFC 5424 senders (sshd, su and shadow-utils write RFC 3164 to /dev/log: their messages, sent the RFC 5424 way, once
# with structured data and a BOM, once as util-linux logger sends them). rsyslog writes them in its three templates.
s=$(now)
python3 - "$T/rfc5424.sock" "$ID" <<'PY'
import socket, sys, time
sock, run = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ts = time.strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', time.gmtime())
for pri, app, pid, msg in [
    (38, 'sshd', '5424', 'Failed password for invalid user nosuch%s from 192.0.2.1 port 5424 ssh2' % run),
    (38, 'sshd', '5424', 'Accepted password for or%sa from 192.0.2.1 port 5425 ssh2' % run),
    (86, 'su', '5426', 'FAILED SU (to root) or%sa on pts/1' % run),
    (86, 'useradd', '5427', 'new user: name=or%sc, UID=5427, GID=5427, home=/home/x, shell=/bin/sh, from=none' % run),
    (86, 'userdel', '5428', "delete user 'or%sc'" % run),
]:
    head = '<%d>1 %s vm %s %s - [origin software="%s"] ' % (pri, ts, app, pid, app)
    s.sendto(head.encode() + b'\xef\xbb\xbf' + msg.encode(), sock)
PY
logger --rfc5424 -u "$T/rfc5424.sock" -p auth.warning -t sshd "Invalid user nosuch$ID from 192.0.2.2 port 5429"
mark rfc5424-senders "$s" "$(now)"
sleep 1.2
s=$(now)
auditctl -d $R1; auditctl -d $R2; auditctl -d $R3
mark audit-rules-removed "$s" "$(now)"
sleep 1
kill "$(cat "$T/rsyslogd.pid")" 2>/dev/null
# auditd rotates audit.log at max_log_file (8 MB by default): when it did during the run, the run's records start in
# the rotated file (found by the inode it had) and go on in the new one.
ROTATED=$(find /var/log/audit -maxdepth 1 -name 'audit.log.*' -inum "$AUDIT_INODE" | head -1)
if [ -n "$ROTATED" ]; then
  { tail -c +$((AUDIT_START + 1)) "$ROTATED"; cat /var/log/audit/audit.log; } > "$OUT/audit.all.log"
else
  tail -c +$((AUDIT_START + 1)) /var/log/audit/audit.log > "$OUT/audit.all.log"
fi
echo "SESSION_START=$SESSION_START" >> "$OUT/session.env"
