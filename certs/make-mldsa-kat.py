#!/usr/bin/env python3
"""Regenerates mldsa-kat.json: ML-DSA-44/65/87 known answers for a fixed seed and message in the
deterministic mode with an empty context, computed by dilithium-py (a pure-Python FIPS 204
implementation independent of ours). Run with a Python that has `dilithium-py==1.5.1`."""
import hashlib, json, pathlib
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87

seed = bytes(range(32))
message = b"AWS4-X509-MLDSA\n20260102T030405Z\n20260102/us-east-1/rolesanywhere/aws4_request\n" + b"0" * 64
vectors = {}
for name, scheme in [("ML-DSA-44", ML_DSA_44), ("ML-DSA-65", ML_DSA_65), ("ML-DSA-87", ML_DSA_87)]:
    pk, sk = scheme.key_derive(seed)
    signature = scheme.sign(sk, message, ctx=b"", deterministic=True)
    vectors[name] = {
        "public_key_sha256": hashlib.sha256(pk).hexdigest(),
        "signature_sha256": hashlib.sha256(signature).hexdigest(),
        "signature_len": len(signature),
    }
out = {"seed": seed.hex(), "message": message.decode(), "vectors": vectors}
(pathlib.Path(__file__).parent / "mldsa-kat.json").write_text(json.dumps(out, indent=2) + "\n")
