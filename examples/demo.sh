#!/usr/bin/env bash
# The main job on a bundled example: copy it to a fresh temporary git repository
# and run refactor-async analyze, then propose: the branch, its commit message and diff.
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
echo "== refactor-async propose --drafter rules"
echo "   (drafts in a temporary worktree, validates with the example's own"
echo "    'make test' and 'make typecheck', commits on a new branch)"
status=0
"$BIN" propose --drafter rules . || status=$?
echo
echo "== propose exited with $status"
for branch in $(git for-each-ref --format='%(refname:short)' 'refs/heads/refactor-async/*'); do
    echo "== branch $branch: its commit message"
    git --no-pager log -1 --format=%B "$branch"
    echo "== branch $branch: the diff against main"
    git --no-pager diff --stat main "$branch"
    git --no-pager diff main "$branch"
done
echo "== the working tree, index and HEAD are untouched:"
git status --short --branch
[ -z "$(git status --porcelain)" ] && echo "   (clean)"
exit "$status"
