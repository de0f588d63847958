#!/usr/bin/env bash
# A/B of two HTTP server binaries under load at the same time.
#
#   benches/ab.sh BIN_A BIN_B
#
# e.g. two builds of examples/http_hello (copy the first out of
# target/release/examples before building the second), or
# examples/hyper_hello against examples/hyper_hello_tokio. Both servers
# take `--port P --workers W`.
#
# Each round starts both servers (WORKERS workers each) and runs one
# `wrk -t1 -c$CONNS` against each at the same time for SECS seconds (after
# a 1 s warm-up), then reads each server's CPU time (the sum of its
# threads' on-CPU time from /proc/<pid>/task/*/schedstat) per request.
# Sequential runs on a shared VM differ by 10-20 % from one minute to the
# next; two servers loaded at once see the same machine, so their ratio
# holds to about 1 % (A against itself: 0.99-1.01). The machine is then
# overloaded (four busy processes on two CPUs), which favours whatever
# batches: read it as the loaded case, beside `servers.sh`'s.
#
# Environment: ROUNDS (5), SECS (4), CONNS (32 per server), WORKERS (2).
# Prints each round and the median of B/A (CPU per request and
# requests); bounded: 127.0.0.1 only, fixed durations.
set -euo pipefail

A=${1:?usage: benches/ab.sh BIN_A BIN_B}
B=${2:?usage: benches/ab.sh BIN_A BIN_B}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-4}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-2}

# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"

echo "A = $A, B = $B; load at start $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds, wrk -t1 -c$CONNS -d${SECS}s on each at once"
res=$(mktemp)
out_a=$(mktemp)
out_b=$(mktemp)
trap 'rm -f "$res" "$out_a" "$out_b"' EXIT
for r in $(seq "$ROUNDS"); do
    pa_port=$(free_port)
    pb_port=$(free_port)
    "$A" --port "$pa_port" --workers "$WORKERS" >/dev/null 2>&1 &
    pa=$!
    "$B" --port "$pb_port" --workers "$WORKERS" >/dev/null 2>&1 &
    pb=$!
    wait_port "$pa_port" || { echo "$A did not start" >&2; exit 1; }
    wait_port "$pb_port" || { echo "$B did not start" >&2; exit 1; }
    wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$pa_port/" >/dev/null &
    w1=$!
    wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$pb_port/" >/dev/null &
    w2=$!
    wait "$w1" "$w2"
    a0=$(cpu_ns "$pa")
    b0=$(cpu_ns "$pb")
    wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$pa_port/" >"$out_a" &
    w1=$!
    wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$pb_port/" >"$out_b" &
    w2=$!
    wait "$w1" "$w2"
    a1=$(cpu_ns "$pa")
    b1=$(cpu_ns "$pb")
    stop_pid "$pa"
    stop_pid "$pb"
    qa=$(awk '/requests in/ {print $1}' "$out_a")
    qb=$(awk '/requests in/ {print $1}' "$out_b")
    awk -v r="$r" -v qa="$qa" -v qb="$qb" -v ca=$((a1 - a0)) -v cb=$((b1 - b0)) 'BEGIN {
        printf "round %d: A %d requests, %.2f µs CPU/req; B %d requests, %.2f µs CPU/req; B/A CPU %.3f, requests %.3f\n",
            r, qa, ca / qa / 1000, qb, cb / qb / 1000, (cb / qb) / (ca / qa), qb / qa }' | tee -a "$res"
done
echo "median B/A: CPU per request $(awk '{print $(NF - 2)}' "$res" | tr -d , | median), requests $(awk '{print $NF}' "$res" | median)"
