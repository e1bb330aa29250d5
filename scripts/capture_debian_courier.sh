#!/usr/bin/env bash
# Produce samples/courier/debian-mail.log from a REAL Courier IMAP and POP3 (Debian's courier-imap,
# courier-pop, courier-authdaemon with PAM) logging through a real rsyslogd with Debian's default file format
# (RFC 3339 stamps): logins, failed logins (wrong password, unknown account), logouts and dropped
# connections, with PAM's own lines beside them. Courier listens on 127.0.0.1:10143 (IMAP) and :10110 (POP3).
#
# It edits /etc/courier, adds a user and runs an rsyslogd on /dev/log: run it as root in a throwaway VM:
#   SHIPPER_CAPTURE_OK=1 scripts/capture_debian_courier.sh
# Needs: apt-get install courier-imap courier-pop courier-authdaemon rsyslog. Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: edits /etc/courier, adds a user, runs rsyslogd on /dev/log (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=${1:-samples/courier/debian-mail.log}
scratch=/tmp/courier-capture
stop_pid() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }
/usr/lib/courier/imapd stop >/dev/null 2>&1 || true
/usr/lib/courier/pop3d stop >/dev/null 2>&1 || true
/usr/sbin/authdaemond stop >/dev/null 2>&1 || true
stop_pid "$scratch/rsyslogd.pid"
sleep 1
rm -rf "$scratch" && mkdir -p "$scratch/spool"

cat > "$scratch/rsyslog.conf" <<CONF
module(load="imuxsock")
\$WorkDirectory $scratch/spool
mail.*,auth,authpriv.*  $scratch/mail.log
CONF
rsyslogd -f "$scratch/rsyslog.conf" -i "$scratch/rsyslogd.pid" </dev/null >/dev/null 2>&1
sleep 1

id courieruser >/dev/null 2>&1 || useradd -m courieruser
echo 'courieruser:Courier-pw-2026' | chpasswd
[ -d ~courieruser/Maildir ] || su -s /bin/sh -c 'maildirmake ~/Maildir' courieruser

sed -i -e 's/^ADDRESS=.*/ADDRESS=127.0.0.1/' -e 's/^PORT=.*/PORT=10143/' /etc/courier/imapd
sed -i -e 's/^ADDRESS=.*/ADDRESS=127.0.0.1/' -e 's/^PORT=.*/PORT=10110/' /etc/courier/pop3d
/usr/sbin/authdaemond start
/usr/lib/courier/imapd start
/usr/lib/courier/pop3d start
sleep 2
python3 scripts/capture/drive_courier.py
sleep 2
/usr/lib/courier/imapd stop
/usr/lib/courier/pop3d stop
/usr/sbin/authdaemond stop
sleep 1
stop_pid "$scratch/rsyslogd.pid"
sleep 1
cp "$scratch/mail.log" "$out"
echo "captured $(wc -l < "$out") lines from Courier $(dpkg-query -W -f '${Version}' courier-imap) into $out"
