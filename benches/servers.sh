#!/usr/bin/env bash
# Server load figures against peers, same run, rounds in rotating order.
#
#   benches/servers.sh [http|axum|kv|all]     (default: all)
#
# http: examples/http_hello (aio on io_uring, aio on epoll) against
#       examples/http_hello_tokio, under `wrk -t1 -c64 -d${SECS}s`.
# axum: examples/axum_hello and hyper_hello (aio::hyper::serve, on
#       io_uring and on epoll) against axum_hello_tokio and
#       hyper_hello_tokio (axum::serve, hyper-util on tokio), same load.
# kv:   examples/kv_server (aio on io_uring, aio on epoll) against Redis
#       (apt's redis-server) and mini-redis 0.4 (tokio; `cargo install`ed
#       into target/peers), under `redis-benchmark -c 50 -t set,get -n $N`
#       (not pipelined).
#
# For each server and round: requests per second; server CPU per request
# (the sum of its threads' on-CPU time from /proc/<pid>/task/*/schedstat
# over the load window, in µs); the CPUs the server and the load
# generator kept busy over that window (1.00 = one CPU all the time: on
# this 2-CPU machine a server near 1.00 with wrk near 1.00 is the
# bottleneck of a saturated machine, its CPU per request its work per
# request; one well under 1.00 waits on wrk), and the CPUs its busiest
# thread kept busy (an aio server whose connections gathered on one
# worker shows nearly its whole total there; one whose work ran split
# over two workers, well below it); driver syscalls per request
# (io_uring_enter + epoll_wait/epoll_pwait/epoll_pwait2, counted with
# `perf stat` tracepoints when perf can, else "-"); and how far apart the
# two CPUs were just before and just after the round
# (`benches/cross_cpu.rs`: a cache line's round trip between threads
# pinned on CPU 0 and 1, in ns; on this project's VM about 100 when the
# host runs the vCPUs close, 400-800 when far, and loopback servers' CPU
# per request follows it). Then the median of
# each over the rounds, and each server's ratio to the peer's (the
# median of the per-round ratios); how many of a server's rounds had the
# CPUs near at both ends (under NEAR_NS, 200), and the ratios again over
# the rounds where both the server and the peer did (the machine's state
# held equal, as far as the two probes tell). Markdown on stdout, for
# BENCHMARKS.md; progress on stderr.
#
# Environment: ROUNDS (3), SECS (5, the wrk window), NEAR_NS (200), N
# (200000 requests per redis-benchmark test), WORKERS (2: aio's and the tokio peers' worker
# threads), HTTP_SERVERS, AXUM_SERVERS, HYPER_SERVERS, KV_SERVERS (each
# batch's servers, the ratios' peer last; defaults as above, e.g. "kv-aio
# kv-aio-epoll redis mini-redis"). An aio server's name with -spinN
# appended (kv-aio-spin0, hyper-aio-spin12) runs it with
# AIO_PARK_SPIN_US=N, with -batchN (kv-aio-batch0) with
# AIO_PARK_BATCH_US=N; both may be given (kv-aio-spin0-batch100). A
# name with @base appended (hyper-aio@base) runs the binary from
# BASE_EXAMPLES, e.g. another commit's target/release/examples copied
# aside. Installs its peers itself (apt-get, cargo install) if missing.
# Bounded: 127.0.0.1 only; each run has a fixed duration or count.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
N=${N:-200000}
WORKERS=${WORKERS:-2}
WHAT=${1:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PEERS=$TARGET/peers
log() { echo "$*" >&2; }
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >&2
}

# --- the servers -------------------------------------------------------------

build() {
    log "building the example servers (release)"
    cargo build --release --features hyper --example http_hello --example http_hello_tokio \
        --example kv_server --example axum_hello --example axum_hello_tokio \
        --example hyper_hello --example hyper_hello_tokio >&2
    XCPU=$(cargo bench --bench cross_cpu --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*cross_cpu[^"]*\)".*/\1/p' | tail -1)
    [ -x "$XCPU" ] || { log "benches/cross_cpu did not build"; exit 1; }
}

# cross_cpu: the round trip of a cache line between CPUs 0 and 1 now, in
# ns ("-" where the threads cannot be pinned there).
cross_cpu() { "$XCPU" 0 1 5 2>/dev/null || echo "-"; }

peers_kv() {
    need redis-server redis-server
    need redis-benchmark redis-tools
    if [ ! -x "$PEERS/bin/mini-redis-server" ]; then
        log "installing mini-redis 0.4.1 (cargo install, into $PEERS)"
        cargo install mini-redis --version 0.4.1 --locked --root "$PEERS" >&2 ||
            cargo install mini-redis --version 0.4.1 --root "$PEERS" >&2
    fi
}

# start NAME PORT: starts server NAME on PORT, sets PID. An aio server's
# name may end in -spinN and -batchN: the same server with
# AIO_PARK_SPIN_US=N, AIO_PARK_BATCH_US=N; a name ending in @base runs
# the example binary from $BASE_EXAMPLES instead (a build of another
# commit, copied there: the same batch then compares the two builds).
start() {
    local name=$1 port=$2 ex=$TARGET/release/examples
    local -a knobs=()
    if [[ $name == *@base ]]; then
        name=${name%@base}
        ex=${BASE_EXAMPLES:?"a name ending in @base needs BASE_EXAMPLES"}
    fi
    while [[ $name =~ ^(.*aio.*)-(spin|batch)([0-9]+)$ ]]; do
        name=${BASH_REMATCH[1]}
        case ${BASH_REMATCH[2]} in
            spin) knobs+=("AIO_PARK_SPIN_US=${BASH_REMATCH[3]}") ;;
            batch) knobs+=("AIO_PARK_BATCH_US=${BASH_REMATCH[3]}") ;;
        esac
    done
    # `exec`: the background job is the server itself, so $! is its pid.
    case $name in
        aio) exec env "${knobs[@]}" "$ex/http_hello" --port "$port" --workers "$WORKERS" ;;
        aio-epoll) exec env AIO_DRIVER=epoll "$ex/http_hello" --port "$port" --workers "$WORKERS" ;;
        tokio) exec "$ex/http_hello_tokio" --port "$port" --workers "$WORKERS" ;;
        axum-aio) exec env "${knobs[@]}" "$ex/axum_hello" --port "$port" --workers "$WORKERS" ;;
        axum-aio-epoll) exec env AIO_DRIVER=epoll "$ex/axum_hello" --port "$port" --workers "$WORKERS" ;;
        axum-tokio) exec "$ex/axum_hello_tokio" --port "$port" --workers "$WORKERS" ;;
        hyper-aio) exec env "${knobs[@]}" "$ex/hyper_hello" --port "$port" --workers "$WORKERS" ;;
        hyper-aio-epoll) exec env AIO_DRIVER=epoll "$ex/hyper_hello" --port "$port" --workers "$WORKERS" ;;
        hyper-tokio) exec "$ex/hyper_hello_tokio" --port "$port" --workers "$WORKERS" ;;
        kv-aio) exec env "${knobs[@]}" "$ex/kv_server" --port "$port" --workers "$WORKERS" ;;
        kv-aio-epoll) exec env AIO_DRIVER=epoll "$ex/kv_server" --port "$port" --workers "$WORKERS" ;;
        redis) exec redis-server --port "$port" --save '' --appendonly no --daemonize no ;;
        mini-redis) exec "$PEERS/bin/mini-redis-server" --port "$port" ;;
        *) log "unknown server $name"; exit 2 ;;
    esac >/dev/null 2>&1 &
    PID=$!
    wait_port "$port" && return 0
    log "$name did not start on port $port"
    kill "$PID" 2>/dev/null || true
    exit 1
}

stop() { stop_pid "$PID"; }

PERF_EVENTS='syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_pwait2'
perf_ok() { perf stat -e "$PERF_EVENTS" -- true >/dev/null 2>&1; }

# measure NAME KIND: one round of server NAME under load KIND; prints
# "name rps cpu_us_per_req syscalls_per_req server_cpus client_cpus
# busiest_thread_cpus cross_cpu_ns_before/after".
measure() {
    local name=$1 kind=$2 port rps reqs c0 c1 th0 th1 st="" out t0 t1 client far
    port=$(free_port)
    start "$name" "$port"
    out=$(mktemp)
    if [ "$kind" = http ]; then
        wrk -t1 -c64 -d1s "http://127.0.0.1:$port/" >/dev/null # warm-up
    else
        redis-benchmark -p "$port" -c 50 -n 20000 -t set,get -q >/dev/null
    fi
    far=$(cross_cpu)
    if perf_ok; then
        perf stat -x, -e "$PERF_EVENTS" -p "$PID" -o "$out.perf" &
        st=$!
        sleep 0.2
    fi
    c0=$(cpu_ns "$PID")
    th0=$(thread_ns "$PID")
    t0=$(date +%s%N)
    # The load generator's CPU time: bash's `time` (user + system).
    local TIMEFORMAT='%U %S'
    if [ "$kind" = http ]; then
        client=$({ time wrk -t1 -c64 -d"${SECS}s" "http://127.0.0.1:$port/" >"$out.load" 2>/dev/null; } 2>&1 | tail -n 1)
        reqs=$(awk '/requests in/ {print $1}' "$out.load")
        rps=$(awk -v r="$reqs" -v s="$SECS" 'BEGIN {printf "%.0f", r / s}')
    else
        # Two tests of N requests each; throughput: their mean.
        client=$({ time redis-benchmark -p "$port" -c 50 -n "$N" -t set,get --csv >"$out.load" 2>/dev/null; } 2>&1 | tail -n 1)
        rps=$(awk -F'"' 'NR > 1 {s += $4; n++} END {printf "%.0f", s / n}' "$out.load")
        reqs=$((2 * N))
    fi
    c1=$(cpu_ns "$PID")
    th1=$(thread_ns "$PID")
    t1=$(date +%s%N)
    far="$far/$(cross_cpu)"
    local sys="-"
    if [ -n "$st" ]; then
        kill -INT "$st" 2>/dev/null || true
        wait "$st" 2>/dev/null || true
        sys=$(awk -F, -v r="$reqs" '$3 ~ /syscalls/ && $1 ~ /^[0-9]+$/ {s += $1} END {printf "%.3f", s / r}' "$out.perf")
    fi
    stop
    rm -f "$out" "$out.perf" "$out.load"
    awk -v n="$name" -v r="$rps" -v c=$((c1 - c0)) -v q="$reqs" -v s="$sys" \
        -v w=$((t1 - t0)) -v l="$client" -v m="$(busiest_ns "$th0" "$th1")" -v x="$far" \
        'BEGIN {split(l, u, " "); printf "%s %s %.2f %s %.2f %.2f %.2f %s\n", n, r, c / q / 1000, s, c / w, (u[1] + u[2]) * 1e9 / w, m / w, x}'
}

# The cross-CPU round trip (ns) under which the CPUs count as near.
NEAR_NS=${NEAR_NS:-200}

# near_awk: an awk function near(x): whether a round's "before/after"
# cross-CPU field shows the CPUs near at both ends.
near_awk='function near(x,  a) { return split(x, a, "/") == 2 && a[1] != "-" && a[2] != "-" && a[1] + 0 < t && a[2] + 0 < t }'

# round_ratios FILE N SERVER PEER FIELD [near]: for each round (N
# consecutive lines of FILE), SERVER's FIELD over PEER's, one per line;
# with "near", only the rounds where both ran with the CPUs near.
round_ratios() {
    awk -v n="$2" -v s="$3" -v p="$4" -v f="$5" -v only="${6:-}" -v t="$NEAR_NS" "$near_awk"'
        { r = int((NR - 1) / n); v[r, $1] = $f; ok[r, $1] = near($8); rounds = r + 1 }
        END { for (i = 0; i < rounds; i++) if ((i, s) in v && (i, p) in v && v[i, p] > 0 && (only == "" || (ok[i, s] && ok[i, p]))) print v[i, s] / v[i, p] }' "$1"
}

# batch KIND SERVER...: ROUNDS rounds, the order rotating; the first
# server after the aio ones is the peer the ratios use (the last name).
batch() {
    local kind=$1; shift
    local servers=("$@") n=${#servers[@]} res
    res=$(mktemp)
    log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    for r in $(seq "$ROUNDS"); do
        for i in $(seq 0 $((n - 1))); do
            local s=${servers[$(((i + r - 1) % n))]}
            log "round $r: $s"
            measure "$s" "$kind" | tee -a "$res" >&2
        done
    done
    local peer=${servers[$((n - 1))]}
    echo
    echo "| server | req/s (median of $ROUNDS) | server CPU µs/req | driver syscalls/req | server CPUs busy | load generator CPUs busy | rounds with the CPUs near | req/s vs $peer | CPU vs $peer | near rounds: req/s, CPU vs $peer |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for s in "${servers[@]}"; do
        local rps cpu sys rr cr
        rps=$(awk -v s="$s" '$1 == s {print $2}' "$res" | median)
        cpu=$(awk -v s="$s" '$1 == s {print $3}' "$res" | median)
        sys=$(awk -v s="$s" '$1 == s && $4 != "-" {print $4}' "$res" | median)
        local busy load far
        busy=$(awk -v s="$s" '$1 == s {print $5}' "$res" | median)
        load=$(awk -v s="$s" '$1 == s {print $6}' "$res" | median)
        far=$(awk -v s="$s" -v t="$NEAR_NS" "$near_awk"' $1 == s {n++; k += near($8)} END {printf "%d of %d", k, n}' "$res")
        # The ratios: the median of the per-round ratios (each round runs
        # every server once, so a ratio compares servers that ran minutes
        # apart at most, whatever the machine did between rounds).
        rr=$(round_ratios "$res" "$n" "$s" "$peer" 2 | median)
        cr=$(round_ratios "$res" "$n" "$s" "$peer" 3 | median)
        local nrr ncr
        nrr=$(round_ratios "$res" "$n" "$s" "$peer" 2 near | median)
        ncr=$(round_ratios "$res" "$n" "$s" "$peer" 3 near | median)
        awk -v s="$s" -v r="$rps" -v c="$cpu" -v y="$sys" -v b="$busy" -v l="$load" -v x="$far" -v rr="$rr" -v cr="$cr" -v nrr="$nrr" -v ncr="$ncr" \
            'function f(v) { return v == "-" ? v : sprintf("%.2f", v) }
            BEGIN {printf "| %s | %d | %.2f | %s | %.2f | %.2f | %s | %.2f | %.2f | %s, %s |\n", s, r, c, y, b, l, x, rr, cr, f(nrr), f(ncr)}'
    done
    echo
    echo "Rounds (server, req/s, CPU µs/req, syscalls/req, server CPUs busy, load generator CPUs busy, busiest server thread's CPUs, cross-CPU round trip in ns just before/after the round):"
    echo '```'
    cat "$res"
    echo '```'
    rm -f "$res"
}

echo "commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
need wrk wrk
build
case $WHAT in
    http | all)
        echo
        echo "### http_hello under \`wrk -t1 -c64 -d${SECS}s\`"
        batch http ${HTTP_SERVERS:-aio aio-epoll tokio}
        ;;&
    axum | all)
        echo
        echo "### axum_hello under \`wrk -t1 -c64 -d${SECS}s\`"
        batch http ${AXUM_SERVERS:-axum-aio axum-aio-epoll axum-tokio}
        echo
        echo "### hyper_hello under \`wrk -t1 -c64 -d${SECS}s\`"
        batch http ${HYPER_SERVERS:-hyper-aio hyper-aio-epoll hyper-tokio}
        ;;&
    kv | all)
        peers_kv
        echo
        echo "### kv_server under \`redis-benchmark -c 50 -n $N -t set,get\`"
        batch kv ${KV_SERVERS:-kv-aio kv-aio-epoll redis mini-redis}
        ;;
    http | axum) ;;
    *) log "usage: $0 [http|axum|kv|all]"; exit 2 ;;
esac
