#!/usr/bin/env python3
"""Regenerates kat-rsa2048.expected.json: the known-answer CreateSession request for the fixed RSA
key and certificate in this folder, built independently of the Rust code (Python's hashlib and
urllib, the openssl command line for the RSASSA-PKCS1-v1_5 signature)."""
import base64, hashlib, json, subprocess, urllib.parse, pathlib

here = pathlib.Path(__file__).parent
cert_pem = (here / "kat-rsa2048.pem").read_text()
der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=cert_pem.encode(), capture_output=True, check=True).stdout
serial_hex = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=cert_pem.encode(), capture_output=True, check=True).stdout.decode().strip().split("=")[1]

host = "rolesanywhere.us-east-1.amazonaws.com"
amz_date, date, region = "20260102T030405Z", "20260102", "us-east-1"
arns = {
    "trustAnchorArn": "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/kat-trust-anchor",
    "profileArn": "arn:aws:rolesanywhere:us-east-1:123456789012:profile/kat-profile",
    "roleArn": "arn:aws:iam::123456789012:role/kat-role",
}
body = b'{"durationSeconds":3600}'
query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(arns.items()))
headers = {"content-type": "application/json", "host": host, "x-amz-date": amz_date, "x-amz-x509": base64.b64encode(der).decode()}
signed = ";".join(sorted(headers))
canonical = "\n".join(["POST", "/sessions", query, "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, hashlib.sha256(body).hexdigest()])
scope = f"{date}/{region}/rolesanywhere/aws4_request"
sts = "\n".join(["AWS4-X509-RSA-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(here / "kat-rsa2048.key")], input=sts.encode(), capture_output=True, check=True).stdout.hex()
authorization = f"AWS4-X509-RSA-SHA256 Credential={int(serial_hex, 16)}/{scope}, SignedHeaders={signed}, Signature={signature}"
(here / "kat-rsa2048.expected.json").write_text(json.dumps({
    "host": host, "amz_date": amz_date, "region": region, **arns, "duration_seconds": 3600,
    "canonical_request": canonical, "string_to_sign": sts, "authorization": authorization,
}, indent=2) + "\n")
