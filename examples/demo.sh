#!/usr/bin/env bash
# The main job on a bundled example: copy it to a fresh temporary git repository
# and run refactor-async on it.
set -euo pipefail
BIN="$(realpath "${1:-target/release/refactor-async}")"
EXAMPLE="${2:-ragjudge}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/refactor-async-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cp -r "$HERE/$EXAMPLE" "$WORK/$EXAMPLE"
cd "$WORK/$EXAMPLE"
git init -q -b main
git add -A
git -c user.name=demo -c user.email=demo@example.invalid commit -qm "$EXAMPLE as shipped"
echo "== $EXAMPLE copied to $WORK/$EXAMPLE and committed"
echo "== refactor-async analyze"
"$BIN" analyze .
echo
echo "== refactor-async propose --dry-run (the built-in rules drafter)"
status=0
"$BIN" propose --dry-run . || status=$?
echo "== propose exited with $status; the working tree is untouched:"
git status --short
[ -z "$(git status --porcelain)" ] && echo "   (clean)"
