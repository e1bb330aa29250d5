#!/usr/bin/env bash
# Produce samples/postfix/debian-verify.log from a REAL Postfix (Debian's package) on this machine, set up
# the way other sites run it and samples/postfix/debian-postfix.log is not: recipient and sender address
# verification (reject_unverified_recipient / _sender, the verify daemon and its probes), long queue IDs
# (enable_long_queue_ids), client ports in smtpd's lines (smtpd_client_port_logging), a quoted local part
# with a space, a recipient rejected after another was accepted (one queue ID, two fates), and verify
# cache cleanup. The upstream MX is scripts/fake_upstream_mx.py on 127.0.0.10 (250, or 450 greylist@, 550 nobody@).
#
# It rewrites the local Postfix configuration: run it only in a throwaway container or VM, as root:
#   SHIPPER_CAPTURE_OK=1 scripts/capture_debian_postfix_verify.sh
# Needs: apt-get install postfix ssl-cert swaks (debconf: "Local only"). Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: this reconfigures /etc/postfix (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=${1:-samples/postfix/debian-verify.log}
log=/var/log/postfix-verify.log
here=$(pwd)

postfix stop >/dev/null 2>&1 || true
pkill -f fake_upstream_mx >/dev/null 2>&1 || true
rm -f "$log" /var/lib/postfix/verify_cache.db
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
for user in alice bob; do id "$user" >/dev/null 2>&1 || useradd -m "$user"; done
cat > /etc/postfix/capture_transport <<'MAP'
upstream.test   smtp:[127.0.0.10]:2525
shop.example    smtp:[127.0.0.10]:2525
MAP

postconf -e \
  myhostname=mx.example.test mydomain=example.test myorigin=example.test \
  'mydestination=$myhostname, example.test, localhost' \
  inet_interfaces=loopback-only inet_protocols=ipv4 'mynetworks=127.0.0.1/32' \
  maillog_file="$log" enable_long_queue_ids=yes smtpd_client_port_logging=yes \
  smtpd_helo_required=yes \
  'smtpd_sender_restrictions=permit_mynetworks, reject_unverified_sender' \
  'smtpd_recipient_restrictions=permit_mynetworks, reject_unauth_destination, reject_unverified_recipient' \
  unverified_recipient_reject_code=550 unverified_sender_reject_code=550 \
  address_verify_poll_count=3 address_verify_poll_delay=1s \
  address_verify_cache_cleanup_interval=10s \
  transport_maps=texthash:/etc/postfix/capture_transport 'relay_domains=upstream.test' \
  maximal_queue_lifetime=1h bounce_queue_lifetime=1h delay_warning_time=0
postconf -e 'alias_maps=hash:/etc/aliases' 'alias_database=hash:/etc/aliases'
[ -f /etc/aliases ] || echo 'postmaster: root' > /etc/aliases
newaliases
postfix check
postfix start
sleep 2

# a remote MX (not a local content filter: 127.0.0.10, and its own queue IDs)
python3 "$here/scripts/fake_upstream_mx.py" 2525 127.0.0.10 --unique-ids & upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
sleep 1

swaks_() { swaks --silent 2 --timeout 30 --server 127.0.0.1 "$@" || true; }

# untrusted clients (127.0.0.2-4): recipients and senders verified by probes to the upstream MX
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to friend@upstream.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to nobody@upstream.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to greylist@upstream.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.3 --from nobody@shop.example --to friend@upstream.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.3 --from greylist@shop.example --to friend@upstream.test --ehlo mail.shop.example
# one message, two recipients: one accepted, one rejected after it (the same queue ID, two fates)
swaks_ --local-interface 127.0.0.4 --from news@shop.example --to friend@upstream.test,nobody@upstream.test \
  --ehlo mail.shop.example
# a quoted local part with a space, accepted and relayed
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to '"john smith"@upstream.test' --ehlo mail.shop.example
sleep 3
# the answers now come from the verify cache
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to nobody@upstream.test --ehlo mail.shop.example
swaks_ --local-interface 127.0.0.2 --from news@shop.example --to friend@upstream.test --ehlo mail.shop.example
# a trusted local client: long queue IDs through local delivery and relay
swaks_ --from carol@example.test --to alice@example.test,bob@example.test --ehlo client.example.test
swaks_ --from carol@example.test --to friend@upstream.test --ehlo client.example.test
sleep 15   # a verify cache cleanup run
postfix stop
sleep 1
cp "$log" "$out"
echo "captured $(wc -l < "$out") lines from Postfix $(postconf -h mail_version) into $out"
