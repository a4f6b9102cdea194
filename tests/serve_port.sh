# serve_port.sh — sourced by the test scripts that start `sohoa serve`.
#
# serve_port LOG PID [TRIES]: the port a `sohoa serve --listen 127.0.0.1:0`
# (process PID, its log in LOG) says it is serving on, waited for up to
# TRIES × 0.1 s (default 100).  Prints it; prints nothing and returns 1 if
# the server did not say so in time, or exited first.
serve_port() {
    local log=$1 pid=$2 tries=${3:-100} port _
    for _ in $(seq "$tries"); do
        port=$(sed -n 's|.*serving warehouse .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
