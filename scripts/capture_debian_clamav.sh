#!/usr/bin/env bash
# Produce samples/clamav/debian-clamd.log and samples/freshclam/debian-freshclam.log from Debian's REAL
# clamd and freshclam (ClamAV 1.0): clamd runs on a loopback port with a one-signature database (the EICAR
# test file's MD5, so no download is needed), scans clean and infected files and a stream, reloads its
# database, self-checks and shuts down; freshclam tries a mirror that does not answer (this machine has
# no route out), which is the failure an admin sees in freshclam.log.
#
# Run as root in a throwaway VM:  SHIPPER_CAPTURE_OK=1 scripts/capture_debian_clamav.sh
# Needs: apt-get install clamav-daemon clamdscan clamav-freshclam. Not used by the test suite.
set -euo pipefail
[ "${SHIPPER_CAPTURE_OK:-}" = 1 ] || { echo "refusing: runs clamd and freshclam as root (set SHIPPER_CAPTURE_OK=1 in a throwaway VM)" >&2; exit 2; }
cd "$(dirname "$0")/.."
scratch=/tmp/clamav-capture
[ -f "$scratch/clamd.pid" ] && kill "$(cat "$scratch/clamd.pid")" 2>/dev/null || true
rm -rf "$scratch" && mkdir -p "$scratch"/{db,scan,fdb}
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$eicar" > "$scratch/scan/eicar.com"
printf 'hello, nothing to see\n' > "$scratch/scan/clean.txt"
(cd "$scratch/scan" && zip -q eicar.zip eicar.com 2>/dev/null || cp eicar.com eicar.zip)
printf '%s:%s:Eicar-Test-Signature-Capture\n' "$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1)" "${#eicar}" > "$scratch/db/capture.hdb"
chown -R clamav:clamav "$scratch"
cat > "$scratch/clamd.conf" <<CONF
LogFile $scratch/clamd.log
LogTime yes
LogVerbose yes
LogClean yes
ExtendedDetectionInfo yes
PidFile $scratch/clamd.pid
DatabaseDirectory $scratch/db
TCPSocket 13310
TCPAddr 127.0.0.1
SelfCheck 5
User clamav
Foreground no
CONF
clamd -c "$scratch/clamd.conf" </dev/null >/dev/null 2>&1
sleep 3
clamdscan_() { clamdscan --config-file="$scratch/clamd.conf" --no-summary "$@" >/dev/null 2>&1 || true; }
clamdscan_ "$scratch/scan/clean.txt"
clamdscan_ "$scratch/scan/eicar.com"
clamdscan_ --stream "$scratch/scan/eicar.com"
clamdscan_ "$scratch/scan/eicar.zip"
clamdscan_ "$scratch/scan/missing-file"
clamdscan_ --reload
sleep 7   # SelfCheck
clamdscan_ "$scratch/scan/eicar.com"
kill "$(cat "$scratch/clamd.pid")"
sleep 2

cat > "$scratch/freshclam.conf" <<CONF
UpdateLogFile $scratch/freshclam.log
LogTime yes
LogVerbose no
DatabaseDirectory $scratch/fdb
DatabaseOwner clamav
DatabaseMirror 127.0.0.1:9
ConnectTimeout 3
ReceiveTimeout 3
MaxAttempts 1
CONF
chown clamav:clamav "$scratch/fdb"
timeout 120 freshclam --config-file="$scratch/freshclam.conf" >/dev/null 2>&1 || true

cp "$scratch/clamd.log" samples/clamav/debian-clamd.log
cp "$scratch/freshclam.log" samples/freshclam/debian-freshclam.log
echo "captured: $(wc -l samples/clamav/debian-clamd.log samples/freshclam/debian-freshclam.log | tail -1)"
