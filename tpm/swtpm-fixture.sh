#!/usr/bin/env bash
# Test fixture: a private swtpm on a loopback port pair and TPM keys with certificates from a
# throwaway CA (the recipe of /work/shared/HSM-TPM-LAB.md §5, TPM part).
#
#   tpm/swtpm-fixture.sh [--bare] [--unix] DIR PORT
#
# Starts swtpm (data port PORT, control port PORT+1, state in DIR/swtpm/state, PID in
# DIR/swtpm/swtpm.pid; with --unix, the UNIX sockets DIR/swtpm/tpm.sock and tpm.sock.ctrl
# instead of the ports) and, unless --bare, makes in DIR:
#   pki/ca.pem, pki/ca.key                     the test CA
#   tpmkeys/NAME.pem, tpmkeys/NAME.crt.pem     TSS2 PRIVATE KEY files (tpm2-openssl provider) + certs:
#     ec256, ec384, rsa2048 (parent: owner hierarchy), ec256-p81 (parent 0x81000001),
#     ec256-pw (password 1234)
#   tpmkeys/encoded.pem, .crt.pem              tpm2_encodeobject output (emptyAuth FALSE, no password)
#   tpmkeys/persistent.crt.pem                 cert of the EC P-256 key persisted at 0x81000101
#   tpmkeys/decrypt-only.pem                   an EC key without the sign attribute
# The caller stops swtpm by PID (kill -TERM) and waits for it to exit before removing DIR.
set -euo pipefail
bare=false unix=false
while [ "${1:-}" = --bare ] || [ "${1:-}" = --unix ]; do
  if [ "$1" = --bare ]; then bare=true; else unix=true; fi
  shift
done
W=${1:?usage: swtpm-fixture.sh [--bare] [--unix] DIR PORT}
PORT=${2:?usage: swtpm-fixture.sh [--bare] [--unix] DIR PORT}
mkdir -p "$W"/{pki,swtpm/state,tpmkeys}
cd "$W"

if $unix; then
  SOCK="$W/swtpm/tpm.sock"
  # The swtpm TCTI of tpm2-tools wants the control socket at <socket>.ctrl.
  ENDPOINTS=(--server "type=unixio,path=$SOCK" --ctrl "type=unixio,path=$SOCK.ctrl")
  TCTI="swtpm:path=$SOCK"
else
  ENDPOINTS=(--server "type=tcp,port=$PORT,bindaddr=127.0.0.1" --ctrl "type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1")
  TCTI="swtpm:host=127.0.0.1,port=$PORT"
fi
swtpm socket --tpm2 --tpmstate dir="$W/swtpm/state" "${ENDPOINTS[@]}" \
  --flags not-need-init,startup-clear --pid file="$W/swtpm/swtpm.pid" --log file="$W/swtpm/swtpm.log" --daemon
export TPM2TOOLS_TCTI="$TCTI" TPM2OPENSSL_TCTI="$TCTI"
export TSS2_LOG=all+none
for _ in $(seq 100); do tpm2_getcap properties-fixed >/dev/null 2>&1 && break; sleep 0.05; done
tpm2_getcap properties-fixed >/dev/null
# Wrong-password tests must not lock the TPM out.
# -t 1000 rather than 0: a recovery time of 0 turns DA counting off, and the tests check that a
# wrong password costs exactly one count (never retried); 1000 tries never lock out.
tpm2_dictionarylockout -s -n 1000 -t 1000 -l 0
$bare && exit 0

cat > pki/ext.cnf <<'CNF'
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pki/ca.key -out pki/ca.pem \
  -days 3650 -subj "/CN=TPM Test Root CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue_csr() { openssl x509 -req -in "$2" -CA pki/ca.pem -CAkey pki/ca.key -days 365 \
  -extfile pki/ext.cnf -extensions v3_leaf -out "$1" 2>/dev/null; }
issue_pub() { openssl x509 -new -subj "/CN=$3" -force_pubkey "$2" -CA pki/ca.pem -CAkey pki/ca.key -days 365 \
  -extfile pki/ext.cnf -extensions v3_leaf -out "$1"; }

# The standard storage key, persisted (parent of ec256-p81 and of the tpm2-tools keys).
tpm2_createprimary -C o -g sha256 -G ecc256:null:aes128cfb \
  -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' -c swtpm/srk.ctx >/dev/null
tpm2_evictcontrol -C o -c swtpm/srk.ctx 0x81000001 >/dev/null
tpm2_flushcontext -t

PROV="-provider tpm2 -provider default"
gen() { local n=$1; shift
  openssl genpkey $PROV "$@" -out "tpmkeys/$n.pem" 2>/dev/null
  openssl req $PROV -new -key "tpmkeys/$n.pem" ${PASSIN:+-passin pass:$PASSIN} -subj "/CN=tpm-$n" -out "tpmkeys/$n.csr"
  issue_csr "tpmkeys/$n.crt.pem" "tpmkeys/$n.csr"; }
gen ec256     -algorithm EC  -pkeyopt group:P-256
gen ec384     -algorithm EC  -pkeyopt group:P-384
gen rsa2048   -algorithm RSA -pkeyopt bits:2048
gen ec256-p81 -algorithm EC  -pkeyopt group:P-256 -pkeyopt parent:0x81000001
PASSIN=1234 gen ec256-pw -algorithm EC -pkeyopt group:P-256 -pkeyopt user-auth:1234
tpm2_flushcontext -t

# tpm2-tools: a signing key persisted at 0x81000101 (scheme fixed to ECDSA-SHA256), also
# encoded as a key file (tpm2_encodeobject writes emptyAuth FALSE), and a decrypt-only key.
tpm2_create -C 0x81000001 -G ecc256:ecdsa-sha256 -u swtpm/p.pub -r swtpm/p.priv \
  -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' >/dev/null
tpm2_flushcontext -t
tpm2_load -C 0x81000001 -u swtpm/p.pub -r swtpm/p.priv -c swtpm/p.ctx >/dev/null
tpm2_evictcontrol -C o -c swtpm/p.ctx 0x81000101 >/dev/null
tpm2_flushcontext -t
tpm2_readpublic -c 0x81000101 -f pem -o tpmkeys/persistent.pub.pem >/dev/null
issue_pub tpmkeys/persistent.crt.pem tpmkeys/persistent.pub.pem tpm-persistent
tpm2_encodeobject -C 0x81000001 -u swtpm/p.pub -r swtpm/p.priv -o tpmkeys/encoded.pem
cp tpmkeys/persistent.crt.pem tpmkeys/encoded.crt.pem
tpm2_create -C 0x81000001 -G ecc256 -u swtpm/d.pub -r swtpm/d.priv \
  -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' >/dev/null
tpm2_flushcontext -t
tpm2_encodeobject -C 0x81000001 -u swtpm/d.pub -r swtpm/d.priv -o tpmkeys/decrypt-only.pem
tpm2_flushcontext -t
echo "SWTPM_PID=$(cat "$W/swtpm/swtpm.pid") PORT=$PORT"
