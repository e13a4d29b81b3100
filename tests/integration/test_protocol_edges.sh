#!/usr/bin/env bash
# Protocol edges that independent clients hit: the ref list right after a
# push (a client that reads the report to its flush and lists refs at
# once must see its own push).
. "$(dirname "$0")/lib.sh"

start_daemon
create_repo demo
W=$T/w
new_work "$W" demo
commit_files "$W" one a=1
g -C "$W" push -q origin main || die "push"
oid=$(git -C "$W" rev-parse HEAD)

out=$(python3 "$(dirname "$0")/rawgit.py" push-then-list 127.0.0.1 "${ADDR##*:}" "$TOKEN" demo "$oid" 100 2>&1)
check_eq "100 pushes, each followed at once by a ref listing: none stale" "stale 0 of 100" "$out"
finish
