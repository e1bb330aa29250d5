#!/usr/bin/env bash
# Produce samples/exim/debian-{mainlog,rejectlog,paniclog}.log from a REAL Exim (Debian's exim4 4.96):
# the packages are downloaded and unpacked into a scratch directory (never installed, so a Postfix on the
# same machine stays the system MTA), and Exim runs as a loopback-only daemon on port 2526 with
# scripts/capture/exim.conf, driven by swaks: local deliveries, TLS, AUTH success and failure, relay and
# policy rejects, a rejected DATA (a rejectlog entry with headers), a scripted upstream MX (250/450/550),
# an unreachable smarthost, a frozen bounce, queue runs and exim -Mrm, and a second daemon on a busy port
# (a paniclog line).
#
# Run as root in a throwaway VM:  SHIPPER_CAPTURE_OK=1 scripts/capture_debian_exim.sh
# It adds the system user Debian-exim and a line to /etc/exim4/trusted_configs. Needs: swaks, libidn12.
# Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: adds a user and /etc/exim4/trusted_configs (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
here=$(pwd)
scratch=/tmp/exim-capture
conf="$scratch/exim.conf"
rm -rf "$scratch" && mkdir -p "$scratch"/{deb,spool,log,mail}
(cd "$scratch/deb" && apt-get download -q exim4-daemon-light exim4-base >/dev/null 2>&1 && for f in *.deb; do dpkg -x "$f" root; done)
exim="$scratch/deb/root/usr/sbin/exim4"
id Debian-exim >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin Debian-exim
chown -R Debian-exim:Debian-exim "$scratch"/{spool,log,mail}
sed "s|^EXIM = .*|EXIM = $exim|" scripts/capture/exim.conf > "$conf" && chmod 0644 "$conf"
mkdir -p /etc/exim4 && touch /etc/exim4/trusted_configs
grep -qx "$conf" /etc/exim4/trusted_configs || echo "$conf" >> /etc/exim4/trusted_configs
usermod -aG ssl-cert Debian-exim 2>/dev/null || true   # to read the snakeoil TLS key
x() { timeout 60 "$exim" -C "$conf" "$@"; }

python3 "$here/scripts/fake_upstream_mx.py" 2525 & upstream=$!
"$exim" -C "$conf" -bd -q20s; sleep 2
trap 'kill $upstream 2>/dev/null || true; pkill -f "exim4 -C $conf" || true' EXIT

swaks_() { swaks --silent 2 --timeout 15 --server 127.0.0.1 --port 2526 "$@" || true; }

# trusted local client: local and upstream deliveries, TLS, multiple recipients, deferral, bounce
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --tls --header "Subject: hello alice"
swaks_ --from carol@example.test --to bob@example.test,alice@example.test --ehlo client.example.test
swaks_ --from carol@example.test --to friend@upstream.test --ehlo client.example.test --header "Subject: to upstream"
swaks_ --from carol@example.test --to friend@upstream.test,greylist@upstream.test --ehlo client.example.test
swaks_ --from carol@example.test --to nobody@upstream.test --ehlo client.example.test
swaks_ --from carol@example.test --to someone@closed.test --ehlo client.example.test
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --header "X-Mailer: bulkmail 3"
swaks_ --server ::1 --from carol@example.test --to bob@example.test --ehlo client6.example.test
# a bounce to a sender that cannot take it: frozen
swaks_ --from ghost@closed.test --to nobody@upstream.test --ehlo client.example.test

# untrusted clients (127.0.0.2-9): AUTH, relay and policy rejects, rejected DATA, protocol errors
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to nosuchuser@example.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.3 --from x@shop.example --to victim@elsewhere.example --ehlo User
swaks_ --local-interface 127.0.0.4 --from promo@spam.example --to alice@example.test --ehlo mail.spam.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo mail.shop.example --header "Subject: you won the lottery"
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo "bad..helo"
swaks_ --local-interface 127.0.0.9 --from a@blocked.example --to alice@example.test --ehlo blocked.example
swaks_ --local-interface 127.0.0.5 --from carol@example.test --to friend@upstream.test --ehlo laptop.example.test --tls --auth PLAIN --auth-user carol --auth-password s3cret
swaks_ --local-interface 127.0.0.6 --from carol@example.test --to friend@upstream.test --ehlo laptop.example.test --tls --auth LOGIN --auth-user carol --auth-password s3cret
for user in admin test info carol; do
    swaks_ --local-interface 127.0.0.7 --from "$user@example.test" --to friend@upstream.test --ehlo User --auth LOGIN --auth-user "$user" --auth-password wrong
done
swaks_ --local-interface 127.0.0.8 --from news@shop.example --to alice@example.test --ehlo mail.shop.example --quit-after RCPT
python3 "$here/scripts/smtp_misbehave.py" 127.0.0.1 2526 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.2 || true

# local submission, queue operations
printf 'Subject: cron\n\nbackup done\n' | x -odi -f root root@example.test
printf 'Subject: typo\n\nhello\n' | x -odi -f root nosuchlocaluser@example.test
sleep 3
x -qff
sleep 2
for id in $(x -bpr | awk '/^ *[0-9]+[smhd] / {id = $3} /someone@closed.test/ {print id}'); do x -Mrm "$id" || true; done
timeout 10 "$exim" -C "$conf" -bdf -oX 2526 2>/dev/null || true   # a second daemon on the busy port
# an Exim whose exim_path is gone (a half-done upgrade): it cannot re-exec itself to deliver, in the paniclog
sed "s|^EXIM = .*|EXIM = /usr/sbin/exim4-gone|; s|^daemon_smtp_ports = .*|daemon_smtp_ports = 2527|" "$conf" > "$conf.broken"
grep -qx "$conf.broken" /etc/exim4/trusted_configs || echo "$conf.broken" >> /etc/exim4/trusted_configs
"$exim" -C "$conf.broken" -bd -oP "$scratch/broken.pid"; sleep 2
swaks --silent 2 --timeout 15 --server 127.0.0.1 --port 2527 --from carol@example.test --to bob@example.test || true
sleep 2; kill "$(cat "$scratch/broken.pid")" || true
sleep 25
x -qff
sleep 5
pkill -f "exim4 -C $conf" || true
sleep 1
for log in main reject panic; do
    [ -s "$scratch/log/${log}log" ] && cp "$scratch/log/${log}log" "samples/exim/debian-${log}log.log"
done
echo "captured from $(x -bV | head -1): $(wc -l "$scratch"/log/*log | tail -1)"
