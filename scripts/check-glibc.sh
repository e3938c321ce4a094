#!/usr/bin/env bash
# Prints the highest GLIBC_ symbol version BINARY needs (objdump -T) and fails if it is above MAX.
# Usage: scripts/check-glibc.sh BINARY MAX     e.g. scripts/check-glibc.sh target/…/rolesanywhere-helper 2.17
set -euo pipefail
binary=$1
max=$2
highest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n -u | tail -1)
if [ -z "$highest" ]; then
    echo "check-glibc: no GLIBC_ symbol versions in $binary (not a dynamically linked glibc binary?)" >&2
    exit 1
fi
echo "check-glibc: $binary needs GLIBC_$highest (at most GLIBC_$max allowed)"
if [ "$(printf '%s\n%s\n' "$highest" "$max" | sort -t. -k1,1n -k2,2n -k3,3n | tail -1)" != "$max" ]; then
    echo "check-glibc: $binary needs GLIBC_$highest, above GLIBC_$max: it will not start on older distributions" >&2
    exit 1
fi
