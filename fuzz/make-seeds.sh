#!/usr/bin/env bash
# Regenerates the committed seed corpora (fuzz/seeds/<target>/) from the test PKI's recipes
# (openssl) and the fixtures in certs/: small, valid inputs for the fuzzer to start from.
# Keys are encrypted with the password "fuzz" (PKCS#8) or the empty one (PKCS#12), with low
# KDF iteration counts so each run of a target takes milliseconds.
set -euo pipefail
cd "$(dirname "$0")"
seeds=seeds
rm -rf "$seeds"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in certificate private_key pkcs12 tpm_key_file pkcs11_uri settings credentials_file \
    create_session_answer sts_answer tpm_response serve_routes verifier cache_entry; do
    mkdir -p "$seeds/$t"
done
q() { openssl "$@" 2>/dev/null; }

# Certificates and keys: EC P-256 (leaf signed by a CA), P-384, RSA 2048.
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" \
    -out "$work/ca.pem" -subj /CN=fuzz-ca -days 3650
q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
    -out "$work/leaf.csr" -subj /CN=fuzz-leaf
q x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial 0x0102 \
    -days 3650 -out "$work/leaf.pem"
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$work/p384.key" \
    -out "$work/p384.pem" -subj /CN=fuzz-p384 -days 3650
cp ../certs/kat-rsa2048.pem "$work/rsa.pem"
cp ../certs/kat-rsa2048.key "$work/rsa.key"
c=$seeds/certificate
cp "$work/leaf.pem" "$c/leaf.pem"
q x509 -in "$work/leaf.pem" -outform DER -out "$c/leaf.der"
cat "$work/leaf.pem" "$work/ca.pem" > "$c/bundle.pem"
cat "$work/leaf.pem" "$work/leaf.key" > "$c/with-key.pem"
cp "$work/p384.pem" "$c/p384.pem"
cp "$work/rsa.pem" "$c/rsa.pem"
cp "$work/leaf.csr" "$c/request.csr"

k=$seeds/private_key
q pkcs8 -topk8 -nocrypt -in "$work/leaf.key" -out "$k/p256-pkcs8.pem"
q pkcs8 -topk8 -nocrypt -in "$work/leaf.key" -outform DER -out "$k/p256-pkcs8.der"
q ec -in "$work/leaf.key" -out "$k/p256-sec1.pem"
q ec -in "$work/leaf.key" -outform DER -out "$k/p256-sec1.der"
q ec -in "$work/p384.key" -out "$k/p384-sec1.pem"
q rsa -in "$work/rsa.key" -traditional -out "$k/rsa-pkcs1.pem"
q rsa -in "$work/rsa.key" -traditional -outform DER -out "$k/rsa-pkcs1.der"
q pkcs8 -topk8 -v2 aes-256-cbc -iter 1 -passout pass:fuzz -in "$work/leaf.key" -out "$k/pbes2.pem"
q pkcs8 -topk8 -v2 aes-128-cbc -iter 1 -passout pass:fuzz -in "$work/leaf.key" -outform DER \
    -out "$k/pbes2.der"
q pkcs8 -topk8 -scrypt -scrypt_N 16 -scrypt_r 1 -scrypt_p 1 -passout pass:fuzz \
    -in "$work/leaf.key" -out "$k/scrypt.pem"
cat "$work/leaf.pem" "$work/leaf.key" > "$k/cert-and-key.pem"

p=$seeds/pkcs12
q pkcs12 -export -in "$work/leaf.pem" -inkey "$work/leaf.key" -certfile "$work/ca.pem" \
    -passout pass: -iter 1 -maciter -out "$p/modern.p12"
q pkcs12 -export -in "$work/leaf.pem" -inkey "$work/leaf.key" -passout pass: -iter 1 \
    -macalg sha1 -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -legacy -out "$p/legacy.p12" ||
    true

# TPM key files: the TSS2 structure around a public area of an ECC P-256 signing key.
t=$seeds/tpm_key_file
# TPMT_PUBLIC: ECC, SHA-256, sign|userWithAuth|..., no policy, NULL symmetric and scheme,
# NIST P-256, NULL KDF, x and y.
public="0023000b00040472000000100010000300100020$(printf '11%.0s' $(seq 32))0020$(printf '22%.0s' $(seq 32))"
public_2b=$(printf '%04x' $((${#public} / 2)))$public
cat > "$work/tss2.cnf" <<CNF
asn1 = SEQUENCE:key
[key]
type = OID:2.23.133.10.1.3
empty = EXPLICIT:0,BOOLEAN:TRUE
parent = INTEGER:0x40000001
public = FORMAT:HEX,OCTETSTRING:$public_2b
private = FORMAT:HEX,OCTETSTRING:0004aabbccdd
CNF
q asn1parse -genconf "$work/tss2.cnf" -out "$t/ecc.der" -noout
{ echo "-----BEGIN TSS2 PRIVATE KEY-----"; base64 -w 64 "$t/ecc.der";
  echo "-----END TSS2 PRIVATE KEY-----"; } > "$t/ecc.pem"

# TPM answers: a header (tag, size, code) and bodies of ReadPublic, Load, Sign; error codes.
r=$seeds/tpm_response
answer() { # name, hex body (after the header), code
    local body=$1 code=${2:-00000000}
    local size=$((10 + ${#body} / 2))
    printf '8001%08x%s%s' "$size" "$code" "$body" | xxd -r -p > "$r/$3"
}
answer "$public_2b" 00000000 read-public
answer "80000001" 00000000 load-handle
answer "0000004a00180004$(printf '0020%s' "$(printf '33%.0s' $(seq 32))")0020$(printf '44%.0s' $(seq 32))" 00000000 sign-ecdsa
answer "" 0000098e auth-fail
answer "" 00000921 lockout
answer "" 00000100 initialize

u=$seeds/pkcs11_uri
printf '%s' 'pkcs11:token=edge%20box;serial=0a;id=%01%FF;object=ra%2Fleaf%3B1;type=cert?pin-value=1234' > "$u/full"
printf '%s' 'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;slot-id=1;library-version=2.6;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin' > "$u/slot"
printf '%s' 'pkcs11:object=leaf;slot-description=x;slot-manufacturer=y;library-manufacturer=z;library-description=w?module-name=softhsm2' > "$u/names"

s=$seeds/settings
printf '%s\n' 'arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/a' \
    'arn:aws:rolesanywhere:us-east-1:123456789012:profile/p' 'arn:aws:iam::123456789012:role/r' \
    'us-east-1' '3600' 'session-1' 'https://rolesanywhere.us-east-1.amazonaws.com' > "$s/commercial"
printf '%s\n' 'arn:aws-cn:rolesanywhere:cn-north-1:123456789012:trust-anchor/a' \
    'arn:aws-cn:rolesanywhere:cn-north-1:123456789012:profile/p' \
    'arn:aws-cn:iam::123456789012:role/path/r' '' '43200' '' 'localhost:8443' > "$s/china"
printf '%s\n' '[profile default]' 'rolesanywhere_role_arn = arn:aws:iam::1:role/x' 's3 =' \
    '  max_concurrent_requests = 5' > "$s/config"

f=$seeds/credentials_file
cred() { printf '%s\0ASIAEXAMPLEEXAMPLE12\0c2VjcmV0c2VjcmV0c2VjcmV0\0dG9rZW50b2tlbnRva2Vu\0%s' "$1" "$2" > "$f/$3"; }
cred default $'[default]\naws_access_key_id = OLD\naws_secret_access_key = OLD\n  continued\naws_session_token = OLD\n\n[other]\nx = y\n' replace
cred edge $'# comment\r\n[other]\r\nk = v\r\n' crlf-add
cred edge $'[edge]\rregion = x\r' bare-cr
cred 'a b' '' empty

a=$seeds/create_session_answer
printf '%s' '{"credentialSet":[{"assumedRoleUser":{"arn":"arn:aws:sts::123456789012:assumed-role/r/s","assumedRoleId":"AROA:s"},"credentials":{"accessKeyId":"ASIAEXAMPLEEXAMPLE12","expiration":"2026-12-04T13:00:00Z","secretAccessKey":"c2VjcmV0c2VjcmV0c2VjcmV0","sessionToken":"dG9rZW50b2tlbnRva2Vu"},"packedPolicySize":0,"roleArn":"arn:aws:iam::123456789012:role/r","sourceIdentity":"CN=leaf"}],"subjectArn":"arn:aws:rolesanywhere:us-east-1:123456789012:subject/s"}' > "$a/success"
printf '%s' '{"message":"Untrusted certificate. Insufficient certificate"}' > "$a/error"

x=$seeds/sts_answer
printf '%s' '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><UserId>AROAEXAMPLE:s</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>' > "$x/caller-identity"
printf '%s' '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired &amp; gone</Message></Error><RequestId>r</RequestId></ErrorResponse>' > "$x/error"
printf '%s' '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId><SecretAccessKey>c2VjcmV0c2VjcmV0c2VjcmV0</SecretAccessKey><SessionToken>dG9rZW50b2tlbnRva2Vu</SessionToken><Expiration>2026-12-04T13:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>' > "$x/assume-role"

h=$seeds/serve_routes
printf '\x01PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\nGET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nX-aws-ec2-metadata-token: {token}\r\n\r\nGET /latest/meta-data/iam/security-credentials/role HTTP/1.1\r\nX-aws-ec2-metadata-token: {token}\r\n\r\nGET /latest/meta-data/iam/security-credentials-extended/role HTTP/1.1\r\nx-aws-ec2-metadata-token: {token}\r\n\r\n' > "$h/imds"
printf '\x00GET /v1/credentials HTTP/1.1\r\nAuthorization: {container}\r\n\r\nGET /v1/credentials HTTP/1.1\r\nAuthorization: wrong\r\n\r\nPUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n' > "$h/container"

v=$seeds/verifier
# The verifier target trusts fixtures/verifier-ca.pem (the CA above); the seed is a request
# signed with the leaf's key, built as certs/make-kat.py builds the known answer.
mkdir -p fixtures
cp "$work/ca.pem" fixtures/verifier-ca.pem
python3 - "$work/leaf.pem" "$work/leaf.key" "$v/signed" <<'PY'
import base64, hashlib, subprocess, sys, urllib.parse
cert_pem, key, out = sys.argv[1:]
der = subprocess.run(["openssl", "x509", "-outform", "DER", "-in", cert_pem], capture_output=True, check=True).stdout
serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", cert_pem], capture_output=True, check=True).stdout.decode().strip().split("=")[1]
host, amz_date, date, region = "rolesanywhere.us-east-1.amazonaws.com", "20260102T030405Z", "20260102", "us-east-1"
arns = {
    "trustAnchorArn": "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/fuzz-anchor",
    "profileArn": "arn:aws:rolesanywhere:us-east-1:123456789012:profile/fuzz-profile",
    "roleArn": "arn:aws:iam::123456789012:role/fuzz-role",
}
body = b'{"durationSeconds":3600}'
query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(arns.items()))
headers = {"content-type": "application/json", "host": host, "x-amz-date": amz_date, "x-amz-x509": base64.b64encode(der).decode()}
signed = ";".join(sorted(headers))
canonical = "\n".join(["POST", "/sessions", query, "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, hashlib.sha256(body).hexdigest()])
scope = f"{date}/{region}/rolesanywhere/aws4_request"
algorithm = "AWS4-X509-ECDSA-SHA256"
sts = "\n".join([algorithm, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=sts.encode(), capture_output=True, check=True).stdout.hex()
authorization = f"{algorithm} Credential={int(serial, 16)}/{scope}, SignedHeaders={signed}, Signature={signature}"
lines = [f"POST /sessions?{query}"] + [f"{k}: {v}" for k, v in headers.items()] + [f"authorization: {authorization}", "", body.decode()]
open(out, "w").write("\n".join(lines))
PY

e=$seeds/cache_entry
key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
printf '{"format":1,"key":"%s","access_key_id":"ASIAEXAMPLEEXAMPLE12","secret_access_key":"c2VjcmV0c2VjcmV0c2VjcmV0","session_token":"dG9rZW50b2tlbnRva2Vu","expiration":"2026-12-04T13:00:00Z"}' "$key" > "$e/fresh"
printf '{"format":1,"key":"%s","access_key_id":"ASIAEXAMPLEEXAMPLE12","secret_access_key":"c2VjcmV0c2VjcmV0c2VjcmV0","session_token":"dG9rZW50b2tlbnRva2Vu","expiration":"9999-12-31T23:59:59Z"}' "$key" > "$e/far-future"
for d in "$seeds"/*; do
    [ -n "$(ls -A "$d")" ] || { echo "make-seeds.sh: no seed for $(basename "$d")" >&2; exit 1; }
done
echo "make-seeds.sh: $(find "$seeds" -type f | wc -l) seeds, $(du -sk "$seeds" | cut -f1) KiB" >&2
