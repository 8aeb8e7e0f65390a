# Helpers for the web console tests (sourced after ../lib.sh; bash).
#
#   serve_start [ARGS...]   klic-admin --state $A serve ARGS in the background;
#                           sets SRV_PID, URL (the login URL), ORIGIN; its
#                           stdout in $BOX/srv.out, stderr in $BOX/srv.err
#   serve_stop [SIG]        send SIG (default TERM), wait; sets SRV_RC
#   req NAME CURL_ARGS...   one request: sets CODE (HTTP status); the headers
#                           in $BOX/h.txt, the body in $BOX/b.txt
#   hdr NAME                the value of response header NAME from $BOX/h.txt

# a server still running when the test ends (a failed step) is stopped
SRV_PID=
trap 'if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null || true; fi; t_cleanup' EXIT

serve_start() {
	: >"$BOX/srv.out"
	: >"$BOX/srv.err"
	"$ADMIN" --state "$A" serve "$@" >"$BOX/srv.out" 2>"$BOX/srv.err" &
	SRV_PID=$!
	local i
	for i in $(seq 100); do
		[ -s "$BOX/srv.out" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	URL=$(head -n1 "$BOX/srv.out")
	ORIGIN=${URL%%/login*}
}

serve_stop() {
	SRV_RC=0
	kill -"${1:-TERM}" "$SRV_PID"
	wait "$SRV_PID" || SRV_RC=$?
	SRV_PID=
}

req() {
	CODE=$(curl -s -o "$BOX/b.txt" -D "$BOX/h.txt" -w '%{http_code}' "$@") || CODE=000
}

hdr() {
	tr -d '\r' <"$BOX/h.txt" | awk -v n="$1" 'BEGIN { IGNORECASE = 1 }
		index(tolower($0), tolower(n) ": ") == 1 { print substr($0, length(n) + 3) }' | tail -n1
}
