#!/usr/bin/env bash
# Produce samples/postfix/debian-postfix.log from a REAL Postfix (Debian's package) on this machine:
# reconfigures /etc/postfix for a loopback-only test MX with postscreen, TLS, access restrictions,
# header/body checks, a pipe, discard and error transports and a scripted upstream MX, then drives it
# with swaks, sendmail, raw sockets and postsuper, and copies its maillog_file.
#
# It rewrites the local Postfix configuration: run it only in a throwaway container or VM, as root:
#   SHIPPER_CAPTURE_OK=1 scripts/capture_debian_postfix.sh
# Needs: apt-get install postfix ssl-cert swaks (debconf: "Local only"). Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: this reconfigures /etc/postfix (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=${1:-samples/postfix/debian-postfix.log}
log=/var/log/postfix.log
here=$(pwd)

postfix stop >/dev/null 2>&1 || true
pkill -f fake_upstream_mx >/dev/null 2>&1 || true
rm -f "$log"
for user in alice bob holdme filterme; do id "$user" >/dev/null 2>&1 || useradd -m "$user"; done
cat > /etc/postfix/capture_transport <<'MAP'
upstream.test   smtp:[127.0.0.1]:2525
closed.test     smtp:[127.0.0.1]:2599
pipe.test       devnull:
discard.test    discard:gone
error.test      error:no such domain here
MAP
cat > /etc/postfix/capture_recipient_access <<'MAP'
holdme@example.test     HOLD
filterme@example.test   FILTER devnull:
MAP
cat > /etc/postfix/capture_header_checks <<'MAP'
/^Subject:.*lottery/    REJECT no lottery spam here
/^X-Mailer: bulkmail/   WARN bulk mailer
MAP
echo '/unsubscribe-me-forever/ DISCARD' > /etc/postfix/capture_body_checks

postconf -e \
  myhostname=mx.example.test mydomain=example.test myorigin=example.test \
  'mydestination=$myhostname, example.test, localhost' \
  inet_interfaces=loopback-only inet_protocols=all 'mynetworks=127.0.0.1/32 [::1]/128' \
  maillog_file="$log" \
  smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key \
  smtpd_tls_security_level=may smtpd_tls_loglevel=1 smtp_tls_security_level=may smtp_tls_loglevel=1 \
  smtpd_helo_required=yes \
  'smtpd_helo_restrictions=permit_mynetworks, reject_invalid_helo_hostname' \
  'smtpd_client_restrictions=permit_mynetworks, check_client_access inline:{127.0.0.9=REJECT}' \
  'smtpd_sender_restrictions=reject_non_fqdn_sender' \
  'smtpd_recipient_restrictions=permit_mynetworks, reject_unauth_destination, check_recipient_access texthash:/etc/postfix/capture_recipient_access' \
  header_checks=regexp:/etc/postfix/capture_header_checks body_checks=regexp:/etc/postfix/capture_body_checks \
  transport_maps=texthash:/etc/postfix/capture_transport \
  'relay_domains=upstream.test, closed.test, pipe.test, discard.test, error.test' \
  smtpd_tls_received_header=yes \
  postscreen_greet_action=enforce postscreen_pipelining_enable=yes postscreen_non_smtp_command_enable=yes \
  postscreen_non_smtp_command_action=drop postscreen_pipelining_action=enforce \
  'postscreen_access_list=permit_mynetworks' postscreen_greet_wait=2s \
  maximal_queue_lifetime=1h bounce_queue_lifetime=1h delay_warning_time=0 \
  anvil_status_update_time=20s

# postscreen in front of smtpd on port 25, a pipe transport for pipe.test
postconf -M# smtp/inet >/dev/null
postconf -Me 'smtp/inet=smtp inet n - y - 1 postscreen' \
  'smtpd/pass=smtpd pass - - y - - smtpd' \
  'dnsblog/unix=dnsblog unix - - y - 0 dnsblog' \
  'tlsproxy/unix=tlsproxy unix - - y - 0 tlsproxy' \
  'devnull/unix=devnull unix - n n - - pipe flags=q user=nobody argv=/bin/true'
postfix check
postfix start
sleep 2

python3 "$here/scripts/fake_upstream_mx.py" 2525 & upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
sleep 1

swaks_() { swaks --silent 2 --timeout 15 --server 127.0.0.1 "$@" || true; }

# trusted local client: deliveries of every kind, TLS, header/body checks
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --tls --header "Subject: hello alice"
swaks_ --from carol@example.test --to bob@example.test,alice@example.test --ehlo client.example.test
swaks_ --from carol@example.test --to friend@upstream.test --ehlo client.example.test --header "Subject: to upstream"
swaks_ --from carol@example.test --to greylist@upstream.test --ehlo client.example.test
swaks_ --from carol@example.test --to nobody@upstream.test --ehlo client.example.test
swaks_ --from carol@example.test --to someone@closed.test --ehlo client.example.test
swaks_ --from carol@example.test --to archive@pipe.test --ehlo client.example.test
swaks_ --from carol@example.test --to x@discard.test --ehlo client.example.test
swaks_ --from carol@example.test --to y@error.test --ehlo client.example.test
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --header "Subject: you won the lottery"
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --header "X-Mailer: bulkmail 3" 
swaks_ --from carol@example.test --to alice@example.test --ehlo client.example.test --body "click unsubscribe-me-forever"
swaks_ --from carol@example.test --to holdme@example.test --ehlo client.example.test
swaks_ --from carol@example.test --to filterme@example.test --ehlo client.example.test
swaks_ --server ::1 --from carol@example.test --to bob@example.test --ehlo client6.example.test

# untrusted clients (127.0.0.2-9): postscreen, rejects, protocol errors
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo mail.shop.example
sleep 1
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo mail.shop.example --tls
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to nosuchuser@example.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to someone@elsewhere.example --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news --to alice@example.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to alice@example.test --ehlo "bad..helo"
swaks_ --local-interface 127.0.0.9 --from a@blocked.example --to alice@example.test --ehlo blocked.example
python3 "$here/scripts/smtp_misbehave.py" 127.0.0.1 25 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.2

# local submission, local bounce, queue operations
printf 'Subject: cron\n\nbackup done\n' | sendmail root
printf 'Subject: typo\n\nhello\n' | sendmail nosuchlocaluser
sleep 3
postsuper -h ALL deferred >/dev/null 2>&1 || true
postsuper -H ALL >/dev/null 2>&1 || true
postqueue -f
sleep 2
postsuper -r ALL >/dev/null 2>&1 || true
sleep 2
postsuper -d ALL deferred >/dev/null 2>&1 || true
postfix reload
sleep 25
postfix stop
sleep 1
cp "$log" "$out"
echo "captured $(wc -l < "$out") lines from Postfix $(postconf -h mail_version) into $out"
