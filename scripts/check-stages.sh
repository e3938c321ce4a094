#!/usr/bin/env bash
# Architecture checks the compiler cannot make: clap's types stay in cli/, commands/ and main.rs
# (every later stage reads typed settings). Prints each leak and fails if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

leaks=$(grep -rnE '\bcrate::cli\b|\brolesanywhere_helper::cli\b|\bsuper::cli\b' src --include='*.rs' \
    | grep -vE '^src/(cli/|commands/|main\.rs:)' || true)
if [ -n "$leaks" ]; then
    echo "check-stages: clap types used below commands/ (convert to settings in commands/from_cli.rs):" >&2
    echo "$leaks" >&2
    exit 1
fi
echo "check-stages: no clap types below commands/"
