#!/usr/bin/env bash
# Produce samples from REAL daemons of Debian 12, logging through a real rsyslogd with Debian's default
# file format (RFC 3339 stamps):
#   samples/dovecot/debian-mail.log      Dovecot 2.3 via syslog (IMAP, POP3, LMTP, auth, auth-worker/PAM)
#   samples/dovecot/debian-dovecot.log   the same sessions with Dovecot's own log_path
#   samples/auth/debian-auth.log         sshd (password, publickey, invalid user, PAM), sudo, su, useradd
# Dovecot listens on 127.0.0.1:10143/10110/10024 and sshd on 127.0.0.1:2222; rsyslogd takes /dev/log.
#
# It adds users and an rsyslogd: run it as root in a throwaway VM:
#   SHIPPER_CAPTURE_OK=1 scripts/capture_debian_dovecot_auth.sh
# Needs: apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd rsyslog openssh-server sshpass sudo
# Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: adds users and runs rsyslogd on /dev/log (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
scratch=/tmp/dovecot-capture
stop_pid() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }
pkill -x dovecot 2>/dev/null || true
stop_pid "$scratch/rsyslogd.pid"
stop_pid "$scratch/sshd.pid"
sleep 1
rm -rf "$scratch" && mkdir -p "$scratch"/{run,state,mail,spool}
chown dovenull:dovenull "$scratch/mail"

# rsyslogd as Debian ships it (no template set: RSYSLOG_FileFormat), into the scratch directory
cat > "$scratch/rsyslog.conf" <<CONF
module(load="imuxsock")
\$WorkDirectory $scratch/spool
auth,authpriv.*  $scratch/auth.log
mail.*           $scratch/mail.log
CONF
rsyslogd -f "$scratch/rsyslog.conf" -i "$scratch/rsyslogd.pid" </dev/null >/dev/null 2>&1
sleep 1

# users: virtual mail users, a system user for PAM, an ssh user with a key
printf '%s\n' 'alice@example.test:{PLAIN}alicepw' 'bob@example.test:{PLAIN}bobpw' > "$scratch/users"
id sysuser >/dev/null 2>&1 || useradd -m sysuser
echo 'sysuser:syspw' | chpasswd
id sshalice >/dev/null 2>&1 || useradd -m -s /bin/bash sshalice
echo 'sshalice:Sshpw-2026' | chpasswd
install -d -m 700 -o sshalice -g sshalice ~sshalice/.ssh
ssh-keygen -q -t ed25519 -N '' -f "$scratch/id_ed25519"
install -m 600 -o sshalice -g sshalice "$scratch/id_ed25519.pub" ~sshalice/.ssh/authorized_keys

# Dovecot through syslog, then with its own log_path
cp scripts/capture/dovecot.conf "$scratch/dovecot.conf"
dovecot -c "$scratch/dovecot.conf" </dev/null >/dev/null 2>&1
sleep 2
python3 scripts/capture/drive_dovecot.py
doveadm -c "$scratch/dovecot.conf" stop || pkill -x dovecot || true
sleep 2
cp "$scratch/dovecot.conf" "$scratch/dovecot-own.conf"
printf 'log_path = %s\ninfo_log_path = %s\n' "$scratch/dovecot.log" "$scratch/dovecot.log" >> "$scratch/dovecot-own.conf"
dovecot -c "$scratch/dovecot-own.conf" </dev/null >/dev/null 2>&1
sleep 2
python3 scripts/capture/drive_dovecot.py
doveadm -c "$scratch/dovecot-own.conf" stop || pkill -x dovecot || true
sleep 1

# sshd on a loopback port, with PAM; ssh clients that fail, succeed, and are not users at all
mkdir -p /run/sshd
/usr/sbin/sshd -p 2222 -o ListenAddress=127.0.0.1 -o PasswordAuthentication=yes -o UsePAM=yes \
  -o KbdInteractiveAuthentication=no -o MaxAuthTries=3 -o PidFile="$scratch/sshd.pid" </dev/null >/dev/null 2>&1
sleep 1
ssh_opts=(-p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
ssh_pw() { timeout 20 sshpass -p "$2" ssh "${ssh_opts[@]}" -o PreferredAuthentications=password \
  -o PubkeyAuthentication=no "$1@127.0.0.1" true </dev/null >/dev/null 2>&1 || true; }
ssh_pw sshalice wrong
ssh_pw sshalice Sshpw-2026
ssh_pw oracle 123456
ssh_pw root admin
for pw in a b c d; do ssh_pw sshalice "$pw"; done
timeout 20 ssh "${ssh_opts[@]}" -i "$scratch/id_ed25519" sshalice@127.0.0.1 true </dev/null >/dev/null 2>&1 || true
stop_pid "$scratch/sshd.pid"

# sudo, su, account changes
sudo -u sshalice true
su -s /bin/sh -c true sshalice
echo wrongpw | timeout 10 su -s /bin/sh -c "sudo -S -k true" sshalice >/dev/null 2>&1 || true
echo Sshpw-2026 | timeout 10 su -s /bin/sh -c "sudo -S -k true" sshalice >/dev/null 2>&1 || true
groupadd -f capturegrp
if id capturetmp >/dev/null 2>&1; then userdel capturetmp; fi
useradd -g capturegrp capturetmp
userdel capturetmp
sleep 2
stop_pid "$scratch/rsyslogd.pid"
sleep 1

cp "$scratch/mail.log" samples/dovecot/debian-mail.log
cp "$scratch/dovecot.log" samples/dovecot/debian-dovecot.log
cp "$scratch/auth.log" samples/auth/debian-auth.log
echo "captured: $(wc -l samples/dovecot/debian-mail.log samples/dovecot/debian-dovecot.log samples/auth/debian-auth.log | tail -1)"
