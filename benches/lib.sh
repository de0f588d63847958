# Helpers shared by benches/servers.sh and benches/ab.sh (sourced).

# free_port: an unused loopback TCP port.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: waits up to 5 s for a listener on 127.0.0.1:PORT;
# fails if none came.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

# stop_pid PID: SIGINT, then SIGKILL if it has not exited within 5 s.
stop_pid() {
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# cpu_ns PID: the on-CPU time of all of PID's threads, in ns.
# (%.0f, not %d: mawk clamps %d to 2^31 - 1, about 2 s of CPU.)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }

# thread_ns PID: "TID NS" per thread of PID (on-CPU time), one per line.
thread_ns() {
    local t
    for t in /proc/"$1"/task/*; do
        [ -r "$t/schedstat" ] && echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
    done
    return 0
}

# busiest_ns BEFORE AFTER: the largest per-thread growth between two
# `thread_ns` listings (a thread that started in between counts from 0).
busiest_ns() {
    awk 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > m) m = d} END {printf "%.0f", m}' \
        <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# median: the median of the numbers on stdin, one per line ("-" if none).
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
