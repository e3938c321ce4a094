#!/usr/bin/env bash
# Makes a private SoftHSM2 token for the tests and for trying PKCS#11 keys by hand: its own
# SOFTHSM2_CONF and token directory under DIR (never the system token directory), keys generated
# in the token (never extractable), one key made by openssl and imported, and certificates for
# them issued by a CA.
#
#   pkcs11/make-softhsm-token.sh DIR [CA_CERT CA_KEY]
#
# Without CA_CERT/CA_KEY it makes a throwaway EC P-256 root CA in DIR/ca.pem + DIR/ca.key.
# Environment: TOKEN_LABEL (default rah-test), USER_PIN (1234), SO_PIN (12345678).
#
# Objects (label / CKA_ID), each a private key, its public key and its certificate:
#   ec256 / 01      EC P-256, certificate from the root CA
#   ec384 / 02      EC P-384
#   rsa2048 / 03    RSA 2048
#   ec256-int / 04  EC P-256, certificate from an intermediate CA; the token also holds the
#                   intermediate (label intermediate-ca) and the root (label root-ca) certificates
#   ec256-always / 05  EC P-256 with CKA_ALWAYS_AUTHENTICATE (a login before each signature)
#   twin / 06, twin / 07  two EC P-256 keys and certificates with the same label
#   ec384-imported / 08  EC P-384 made by openssl and imported (private key, public key and
#                   certificate objects; sensitive but not CKA_LOCAL / never-extractable)
#
# Writes DIR/env (SOFTHSM2_CONF=…, PKCS11_MODULE=…, TOKEN_LABEL=…) and DIR/<label>.crt.pem.
# Needs softhsm2, opensc (pkcs11-tool), gnutls-bin (p11tool) and openssl.
set -euo pipefail

if [ $# -ne 1 ] && [ $# -ne 3 ]; then
    echo "usage: $0 DIR [CA_CERT CA_KEY]" >&2
    exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd)
label=${TOKEN_LABEL:-rah-test}
pin=${USER_PIN:-1234}
so_pin=${SO_PIN:-12345678}

for tool in softhsm2-util pkcs11-tool p11tool openssl; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "$0: $tool is missing; install softhsm2, opensc, gnutls-bin and openssl (apt-get install softhsm2 opensc gnutls-bin openssl)" >&2
        exit 1
    }
done
module=
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so \
    /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -e "$candidate" ]; then module=$candidate; break; fi
done
[ -n "$module" ] || { echo "$0: libsofthsm2.so not found; install softhsm2" >&2; exit 1; }

if [ $# -eq 3 ]; then
    ca_cert=$2 ca_key=$3
else
    ca_cert=$dir/ca.pem ca_key=$dir/ca.key
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$ca_key" -out "$ca_cert" -days 3650 -subj "/CN=SoftHSM Test Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

cat >"$dir/ext.cnf" <<'EOF'
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# The private configuration: SoftHSM reads SOFTHSM2_CONF at C_Initialize.
export SOFTHSM2_CONF=$dir/softhsm2.conf
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$dir/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >/dev/null

# Quiet on success; on failure the tool's own output says why.
p11() {
    local out
    out=$(pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" "$@" 2>&1) || {
        echo "$0: pkcs11-tool $*: $out" >&2
        return 1
    }
}

# The intermediate CA (a file key: only leaf keys need to live in the token).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/intermediate.key" \
    -subj "/CN=SoftHSM Test Intermediate CA" -out "$dir/intermediate.csr" 2>/dev/null
openssl x509 -req -in "$dir/intermediate.csr" -CA "$ca_cert" -CAkey "$ca_key" -days 3650 \
    -extfile "$dir/ext.cnf" -extensions v3_ca -out "$dir/intermediate.pem" 2>/dev/null

# name id key-type issuer-cert issuer-key [extra keygen flags]
make_key() {
    local name=$1 id=$2 type=$3 issuer_cert=$4 issuer_key=$5
    shift 5
    p11 --keypairgen --key-type "$type" --id "$id" --label "$name" --usage-sign "$@"
    # p11tool, not pkcs11-tool: pkcs11-tool 0.23 cannot export a P-384 public key.
    GNUTLS_PIN=$pin p11tool --provider "$module" --login --outfile "$dir/$name-$id.pub.pem" \
        --export-pubkey "pkcs11:token=$label;id=%$id;type=public" 2>/dev/null
    openssl x509 -new -subj "/CN=softhsm-$name-$id" -force_pubkey "$dir/$name-$id.pub.pem" \
        -CA "$issuer_cert" -CAkey "$issuer_key" -days 365 -extfile "$dir/ext.cnf" -extensions v3_leaf \
        -out "$dir/$name-$id.crt.pem" 2>/dev/null
    openssl x509 -in "$dir/$name-$id.crt.pem" -outform DER -out "$dir/$name-$id.crt.der"
    p11 --write-object "$dir/$name-$id.crt.der" --type cert --id "$id" --label "$name"
    cp "$dir/$name-$id.crt.pem" "$dir/$name.crt.pem"
}

make_key ec256 01 EC:prime256v1 "$ca_cert" "$ca_key"
make_key ec384 02 EC:secp384r1 "$ca_cert" "$ca_key"
make_key rsa2048 03 rsa:2048 "$ca_cert" "$ca_key"
make_key ec256-int 04 EC:prime256v1 "$dir/intermediate.pem" "$dir/intermediate.key"
make_key ec256-always 05 EC:prime256v1 "$ca_cert" "$ca_key" --always-auth
make_key twin 06 EC:prime256v1 "$ca_cert" "$ca_key"
make_key twin 07 EC:prime256v1 "$ca_cert" "$ca_key"

# A key made outside the token and imported, as when a CA or an older setup issued the key
# (an imported private key gets no public-key object by itself: it is written too).
import_key() {
    local name=$1 id=$2 curve=$3
    openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$dir/$name-$id.key.pem" 2>/dev/null
    openssl req -new -key "$dir/$name-$id.key.pem" -subj "/CN=softhsm-$name-$id" -out "$dir/$name-$id.csr"
    openssl x509 -req -in "$dir/$name-$id.csr" -CA "$ca_cert" -CAkey "$ca_key" -days 365 \
        -extfile "$dir/ext.cnf" -extensions v3_leaf -out "$dir/$name-$id.crt.pem" 2>/dev/null
    openssl pkey -in "$dir/$name-$id.key.pem" -outform DER -out "$dir/$name-$id.key.der"
    openssl pkey -in "$dir/$name-$id.key.pem" -pubout -outform DER -out "$dir/$name-$id.pub.der"
    openssl x509 -in "$dir/$name-$id.crt.pem" -outform DER -out "$dir/$name-$id.crt.der"
    p11 --write-object "$dir/$name-$id.key.der" --type privkey --id "$id" --label "$name" --usage-sign
    p11 --write-object "$dir/$name-$id.pub.der" --type pubkey --id "$id" --label "$name"
    p11 --write-object "$dir/$name-$id.crt.der" --type cert --id "$id" --label "$name"
    cp "$dir/$name-$id.crt.pem" "$dir/$name.crt.pem"
}

import_key ec384-imported 08 P-384

# CA certificates on the token, as real deployments often store them.
openssl x509 -in "$dir/intermediate.pem" -outform DER -out "$dir/intermediate.der"
openssl x509 -in "$ca_cert" -outform DER -out "$dir/root.der"
p11 --write-object "$dir/intermediate.der" --type cert --label intermediate-ca --id a1
p11 --write-object "$dir/root.der" --type cert --label root-ca --id a2

printf 'SOFTHSM2_CONF=%s\nPKCS11_MODULE=%s\nTOKEN_LABEL=%s\n' "$SOFTHSM2_CONF" "$module" "$label" >"$dir/env"
cat "$dir/env"
