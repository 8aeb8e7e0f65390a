#!/usr/bin/env bash
# Issue 6's benchmark: klic-admin's batch against a shell pipeline of tar +
# gpg + sqlite3 and against the gpg floor, all measured in ONE run on a
# fresh sandbox under /tmp (created here, removed at the end).  See
# README.md here for what each figure means.
#
# usage: bench.sh [--n N] [--big] [--build DIR] [--keep]
#                 [--floor-iter M] [--rounds R] [--big-n N] [--ledger-rows R]
#   --n N            requests in the timed batch (default 200)
#   --big            also: the batch against a ledger of R issued licenses
#                    (default 1,000,000) vs an empty one, and a batch of
#                    --big-n requests (default 10,000) for peak RSS
#   --build DIR      build tree holding request/klic, response/klic-admin,
#                    tests/bench/klic_bench_gpg_floor (default build/normal)
#   --keep           keep the sandbox (also KEEP=1)
#   --floor-iter M   iterations of the gpg floor (default N, within 10..100)
#   --rounds R       the gpg floor and the batch are measured R times,
#                    alternately, and the median of each is used (default 3)
#   --big-n N, --ledger-rows R   smaller --big runs (quick checks, smoke test)
# Exit 0 when every step ran (targets met or not), non-zero when one failed.
# It never asserts a timing: the summary says MET / NOT MET.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS=("$@")
SRC=$(cd "$HERE/../.." && pwd)
N=200
BIG=0
BUILD="$SRC/build/normal"
KEEP=${KEEP:-0}
FLOOR_ITER=""
BIG_N=10000
LEDGER_ROWS=1000000
ROUNDS=3
USERS=4 # distinct members (homes, keys); requests go round-robin
LAT_N=10 # timed 1-seat requests (agent running) for latency

usage() { sed -n '/^# usage:/,/^# It never/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() {
	echo "bench: $*" >&2
	exit 1
}
posint() { [[ $2 =~ ^[1-9][0-9]{0,7}$ ]] || {
	echo "bench: $1 needs a positive integer, got '$2'" >&2
	exit 2
}; }
while [ $# -gt 0 ]; do
	case $1 in
	--n) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --n "$2"; N=$2; shift 2 ;;
	--big) BIG=1; shift ;;
	--build) [ $# -ge 2 ] || { usage >&2; exit 2; }; BUILD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--floor-iter) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --floor-iter "$2"; FLOOR_ITER=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --rounds "$2"; ROUNDS=$2; shift 2 ;;
	--big-n) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --big-n "$2"; BIG_N=$2; shift 2 ;;
	--ledger-rows) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --ledger-rows "$2"; LEDGER_ROWS=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
if [ -z "$FLOOR_ITER" ]; then
	FLOOR_ITER=$N
	[ "$FLOOR_ITER" -lt 10 ] && FLOOR_ITER=10
	[ "$FLOOR_ITER" -gt 100 ] && FLOOR_ITER=100
fi

B_ARG=$BUILD
BUILD=$(cd "$B_ARG" 2>/dev/null && pwd) || die "no build tree $B_ARG"
KLIC="$BUILD/request/klic"
ADMIN="$BUILD/response/klic-admin"
VENDOR="$BUILD/response/vendor/klic-vendor"
FLOOR="$BUILD/tests/bench/klic_bench_gpg_floor"
RUN="$BUILD/tests/bench/klic_bench_run"
TIME=/usr/bin/time
for x in "$KLIC" "$ADMIN" "$VENDOR" "$FLOOR" "$RUN" "$TIME"; do
	[ -x "$x" ] || die "$x: not found or not executable (build first; /usr/bin/time is Debian's 'time')"
done
for t in gpg gpgconf sqlite3 tar gzip sha256sum awk; do
	command -v "$t" >/dev/null || die "$t: not found (run setup.sh)"
done
# The whole run under the runner (a child subreaper): the gpg processes
# GPGME double-forks and the agents are orphans, reaped by it rather than
# left as zombies for the system's init.
if [ "${KLIC_BENCH_REAPER:-0}" != 1 ]; then
	export KLIC_BENCH_REAPER=1
	exec "$RUN" -- bash "${BASH_SOURCE[0]}" ${ARGS[@]+"${ARGS[@]}"}
fi
CORES=$(nproc)

BOX=$(mktemp -d /tmp/kb-XXXXXX)
# Kill the gpg-agent of every GNUPGHOME in the sandbox (those we started).
kill_agents() {
	local d
	while IFS= read -r d; do
		gpgconf --homedir "$d" --kill all >/dev/null 2>&1 || true
	done < <(find "$BOX" \( -name pubring.kbx -o -name 'S.gpg-agent' \) -printf '%h\n' 2>/dev/null | sort -u)
}
GEN_PIDS=() # request makers running in the background
cleanup() {
	local rc=$? p
	for p in ${GEN_PIDS[@]+"${GEN_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
	kill_agents
	if [ "$KEEP" = 1 ]; then echo "bench: sandbox kept: $BOX" >&2; else rm -rf "$BOX"; fi
	[ "$rc" -eq 0 ] || echo "bench: FAILED (exit $rc)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }
# calc EXPR [DECIMALS]: floating-point arithmetic (awk).
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }
# stats FILE: "mean p50 p95 max" of the numbers in FILE, one a line.
stats() {
	sort -g "$1" | awk '{ v[NR] = $1; s += $1 }
		END { if (NR == 0) { print "0 0 0 0"; exit }
		      p95 = int(NR * 0.95 + 0.999); if (p95 < 1) p95 = 1; if (p95 > NR) p95 = NR
		      printf "%.2f %.2f %.2f %.2f\n", s / NR, v[int((NR + 1) / 2)], v[p95], v[NR] }'
}

# clone_state SRC DST: a copy of an admin state (ledger + GNUPGHOME), with
# the source's agent stopped first and no stale sockets in the copy.  The
# copied ledger is written to disk before anything is timed: otherwise the
# timed run's first fsync of it (its first WAL checkpoint) writes back the
# whole copy, about 150 ms for the 1,000,000-license ledger (650 MiB) and
# nothing for an empty one, which is the bench's cost, not klic-admin's.
clone_state() {
	gpgconf --homedir "$1/gnupg" --kill all >/dev/null 2>&1 || true
	cp -a "$1" "$2"
	find "$2/gnupg" -maxdepth 1 -type s -delete
	sync "$2/ledger.sqlite"
}

# run_timed NAME DIR GNUPGHOME CMD...: run CMD in DIR under /usr/bin/time -v
# and klic_bench_run (a subreaper: the orphaned gpg processes GPGME starts
# and the gpg-agent of GNUPGHOME, stopped after CMD, are reaped by it, so
# their CPU time is counted); output in $BOX/NAME.log.  With NS, in a PID
# namespace of its own, which counts the processes created.
# Sets R_WALL (ms, start to CMD's exit), R_USER, R_SYS (s, whole process
# tree), R_CMD_USER, R_CMD_SYS (s, CMD itself and the children it waited
# for), R_RSS (KiB, largest single process), R_PIDS (PIDs used: processes,
# GPGME's intermediate forks, threads; or n/a).
run_timed() {
	local name=$1 dir=$2 home=$3 rc=0 wrap=()
	shift 3
	[ "$NS" = 1 ] && wrap=(unshare -p -f)
	(cd "$dir" && "$TIME" -v -o "$BOX/$name.time" "${wrap[@]}" \
		"$RUN" -o "$BOX/$name.run" --gnupghome "$home" -- "$@") >"$BOX/$name.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$BOX/$name.log" >&2
		die "$name: exit $rc"
	fi
	R_WALL=$(awk '$1 == "wall_ms" { print $2 }' "$BOX/$name.run")
	R_PIDS=$(awk '$1 == "pids" { print $2 }' "$BOX/$name.run")
	[ "${R_PIDS:--1}" -gt 0 ] || R_PIDS=n/a
	[ "$(awk '$1 == "stragglers" { print $2 }' "$BOX/$name.run")" = 0 ] ||
		log "$name: some processes did not exit (see $BOX/$name.log)"
	# CPU: the runner's getrusage (the same tree /usr/bin/time sees, at 1 ms
	# instead of 10 ms resolution); peak RSS: /usr/bin/time -v.
	R_USER=$(awk '$1 == "user_s" { print $2 }' "$BOX/$name.run")
	R_SYS=$(awk '$1 == "sys_s" { print $2 }' "$BOX/$name.run")
	R_CMD_USER=$(awk '$1 == "cmd_user_s" { print $2 }' "$BOX/$name.run")
	R_CMD_SYS=$(awk '$1 == "cmd_sys_s" { print $2 }' "$BOX/$name.run")
	R_RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BOX/$name.time")
	[ -n "$R_WALL" ] && [ -n "$R_USER" ] && [ -n "$R_SYS" ] && [ -n "$R_RSS" ] &&
		[ -n "$R_CMD_USER" ] && [ -n "$R_CMD_SYS" ] ||
		die "$name: cannot parse $BOX/$name.time / $BOX/$name.run"
}
# per_req PIDS COUNT: PIDs per request, or n/a.
per_req() { if [ "$1" = n/a ]; then echo n/a; else calc "$1 / $2" 1; fi; }

# nlicenses STATE: licenses rows in that admin state's ledger.
nlicenses() { sqlite3 "$1/ledger.sqlite" 'SELECT count(*) FROM licenses'; }

# Namespaces (root + unshare): another machine per request needs a mount
# namespace with another /etc/machine-id, as the e2e tests do, and a PID
# namespace per timed run counts the processes it creates.  Without them
# every request comes from this machine, and processes are not counted.
NS=0
if [ "$(id -u)" -eq 0 ] && [ -e /etc/machine-id ] && unshare -m -p -f --propagation private true 2>/dev/null; then
	NS=1
fi
# One machine holds at most 64 active licenses of a product (file names
# PRODUCT_ID.lic .. PRODUCT_ID_64.lic), so without namespaces a batch is
# capped there.
if [ "$NS" = 0 ]; then
	[ "$N" -le 64 ] || die "--n $N: without root every request comes from this machine, which holds at most 64 licenses per product; run as root, or --n 64 or less"
	[ "$BIG" = 0 ] || [ "$BIG_N" -le 64 ] || die "--big needs root (one machine per request) unless --big-n is 64 or less"
fi

# gen_requests DIR PREFIX FIRST COUNT MACHINE_BASE: COUNT 1-seat KRE requests
# DIR/PREFIX%06d.kreq by the real `klic request`, user homes round-robin, and
# (when NS) request i from machine MACHINE_BASE + i.  Parallel workers,
# each in its own mount namespace, each owning whole user homes.
GEN_INNER='set -euo pipefail
klic=$1 box=$2 dir=$3 prefix=$4 first=$5 last=$6 step=$7 users=$8 multi=$9 base=${10}
mid="$box/mid.$first"
for ((i = first; i <= last; i += step)); do
	u=$(( (i - 1) % users + 1 ))
	if [ "$multi" = 1 ]; then
		printf "%032x\n" $((base + i)) >"$mid"
		mount --bind "$mid" /etc/machine-id
	fi
	"$klic" --home "$box/u$u" request --product KRE -o "$(printf "%s/%s%06d.kreq" "$dir" "$prefix" "$i")" >/dev/null
	if [ "$multi" = 1 ]; then umount /etc/machine-id; fi
done'
gen_requests() {
	local dir=$1 prefix=$2 first=$3 count=$4 base=$5 p=1 w rc=0 last
	last=$((first + count - 1))
	mkdir -p "$dir"
	if [ "$CORES" -ge 4 ]; then p=4; elif [ "$CORES" -ge 2 ]; then p=2; fi # divides USERS
	for ((w = 0; w < p; w++)); do
		[ $((first + w)) -le "$last" ] || break
		if [ "$NS" = 1 ]; then
			unshare -m --propagation private bash -c "$GEN_INNER" gen "$KLIC" "$BOX" "$dir" "$prefix" \
				$((first + w)) "$last" "$p" "$USERS" 1 "$base" &
		else
			bash -c "$GEN_INNER" gen "$KLIC" "$BOX" "$dir" "$prefix" \
				$((first + w)) "$last" "$p" "$USERS" 0 "$base" &
		fi
		GEN_PIDS+=($!)
	done
	for w in "${GEN_PIDS[@]}"; do wait "$w" || rc=$?; done
	GEN_PIDS=()
	[ "$rc" -eq 0 ] || die "generating requests in $dir failed"
	[ "$(find "$dir" -name "$prefix*.kreq" | wc -l)" -eq "$count" ] || die "$dir: not $count requests"
}

# ---------------------------------------------------------------------------
log "sandbox $BOX; N=$N, cores=$CORES, big=$BIG, namespaces=$NS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_ALL=$EPOCHREALTIME
cd "$BOX"

# --- admin, members ---------------------------------------------------------
A0="$BOX/admin" # pristine admin state: every timed run works on a copy
SEATS=$((N + 100))
if [ "$BIG" = 1 ] && [ "$BIG_N" -ge "$N" ]; then SEATS=$((BIG_N + 100)); fi
# the vendor signs the organization's entitlement (issue 14)
"$VENDOR" --state "$BOX/vendor" init --name "Bench Vendor" --email vendor@bench.invalid >/dev/null
"$VENDOR" --state "$BOX/vendor" export-key -o "$BOX/vendor.asc" >/dev/null
"$ADMIN" --state "$A0" init --org "Bench Org" --name "Bench Admin" --email admin@bench.invalid \
	--vendor "$BOX/vendor.asc" >/dev/null
"$ADMIN" --state "$A0" export-key -o "$BOX/issuer.asc"
"$VENDOR" --state "$BOX/vendor" entitle --org "Bench Org" --org-key "$BOX/issuer.asc" --product KRE \
	--model node-locked --billing yearly --seats "$SEATS" --until "$(date -u -d '+400 days' +%F)" \
	--ref bench -o "$BOX/bench.kent" >/dev/null
"$ADMIN" --state "$A0" entitlement import "$BOX/bench.kent" >/dev/null
ISSUER_FPR=$(sqlite3 "$A0/ledger.sqlite" "SELECT value FROM meta WHERE key = 'issuer_fpr'")
[ ${#ISSUER_FPR} -eq 40 ] || die "no issuer fingerprint in the ledger"
for ((u = 1; u <= USERS; u++)); do
	"$KLIC" --home "$BOX/u$u" init --name "Bench User $u" --email "u$u@bench.invalid" >/dev/null
	"$KLIC" --home "$BOX/u$u" trust "$BOX/issuer.asc" >/dev/null
	[ -d "$BOX/u$u/klic/gnupg" ] || die "u$u: no $BOX/u$u/klic/gnupg"
done

# --- klic request latency (this machine) ------------------------------------
# Agent running (the users' agents run since init): LAT_N 1-seat requests.
mkdir -p "$BOX/lat"
: >"$BOX/req-warm.ms"
for ((i = 1; i <= LAT_N; i++)); do
	u=$(((i - 1) % USERS + 1))
	t0=$EPOCHREALTIME
	"$KLIC" --home "$BOX/u$u" request --product KRE -o "$(printf '%s/l%02d.kreq' "$BOX/lat" "$i")" >/dev/null
	ms_since "$t0" >>"$BOX/req-warm.ms"
	echo >>"$BOX/req-warm.ms"
done
# Cold: no gpg-agent running (what a user typing one command sees).
: >"$BOX/req-cold.ms"
for ((u = 1; u <= USERS; u++)); do
	gpgconf --homedir "$BOX/u$u/klic/gnupg" --kill all >/dev/null 2>&1 || true
	t0=$EPOCHREALTIME
	"$KLIC" --home "$BOX/u$u" request --product KRE -o "$BOX/lat/c$u.kreq" >/dev/null
	ms_since "$t0" >>"$BOX/req-cold.ms"
	echo >>"$BOX/req-cold.ms"
done
# For install latency and sizes: 4-seat requests and one that is denied
# (KSE: no KSE entitlement exists).
for u in 1 2 3; do
	"$KLIC" --home "$BOX/u$u" request --product KRE --seats 4 -o "$BOX/lat/q$u.kreq" >/dev/null
done
"$KLIC" --home "$BOX/u4" request --product KSE -o "$BOX/lat/d1.kreq" >/dev/null
read -r REQ_WARM REQ_WARM_P50 REQ_WARM_P95 REQ_WARM_MAX < <(stats "$BOX/req-warm.ms")
read -r REQ_COLD _ _ REQ_COLD_MAX < <(stats "$BOX/req-cold.ms")

# --- the batch's requests -----------------------------------------------------
log "generating $N requests (klic request, $USERS users)"
t0=$EPOCHREALTIME
gen_requests "$BOX/req" r 1 "$N" $((0xbe0000000000))
GEN_MS=$(ms_since "$t0")

for ((u = 1; u <= USERS; u++)); do
	f=$BOX/lat/l$(printf '%02d' "$u").kreq
	[ "$u" -le "$LAT_N" ] || f=$BOX/lat/c$u.kreq
	"$ADMIN" --state "$A0" member add --yes --from-request "$f" </dev/null >/dev/null
done
gpgconf --homedir "$A0/gnupg" --kill all >/dev/null 2>&1 || true
# A keyring with the issuer's public key only, for stock gpg --verify.
mkdir -m 700 "$BOX/verify"
gpg --homedir "$BOX/verify" --batch --quiet --import "$BOX/issuer.asc" 2>/dev/null

# --- responses for install latency and sizes (not timed) --------------------
# One request at a time, in the order they are installed below, so each
# license expires no earlier than those installed before it in the same
# home (install never replaces a valid license by one that expires sooner).
clone_state "$A0" "$BOX/run-lat"
LAT_ORDER=()
for ((i = 1; i <= LAT_N; i++)); do LAT_ORDER+=("$(printf 'l%02d' "$i")"); done
for ((u = 1; u <= USERS; u++)); do LAT_ORDER+=("c$u"); done
LAT_ORDER+=(q1 q2 q3 d1)
for b in "${LAT_ORDER[@]}"; do
	"$ADMIN" --state "$BOX/run-lat" issue --yes -o "$BOX/out-lat" "$BOX/lat/$b.kreq" \
		>>"$BOX/lat.log" 2>&1 || { tail -n 20 "$BOX/lat.log" >&2; die "issue of lat/$b.kreq failed"; }
done
gpgconf --homedir "$BOX/run-lat/gnupg" --kill all >/dev/null 2>&1 || true
[ "$(nlicenses "$BOX/run-lat")" -eq $((LAT_N + USERS + 12)) ] ||
	die "latency requests: $(nlicenses "$BOX/run-lat") licenses, expected $((LAT_N + USERS + 12))"

# reqs_in DIR PREFIX: the names (relative to DIR) of DIR/PREFIX*.kreq, sorted.
reqs_in() { find "$1" -maxdepth 1 -name "$2*.kreq" -printf '%f\n' | sort; }

# --- klic-admin issue over the N requests, one batch --------------------------
# batch NAME STATE_SRC REQDIR PREFIX COUNT: time `klic-admin issue` over
# REQDIR/PREFIX*.kreq on a fresh copy of STATE_SRC; every request must be
# issued.  Sets B_WALL (ms), B_CPU (s, whole tree), B_RSS (KiB), B_PIDS.
batch() {
	local name=$1 src=$2 dir=$3 prefix=$4 count=$5 st="$BOX/run-$1" nl
	clone_state "$src" "$st"
	local before
	before=$(nlicenses "$st")
	log "batch $name: klic-admin issue over $count requests"
	local files
	mapfile -t files < <(reqs_in "$dir" "$prefix")
	run_timed "$name" "$dir" "$st/gnupg" "$ADMIN" --state "$st" issue --yes -o "$BOX/out-$name" "${files[@]}"
	nl=$(($(nlicenses "$st") - before))
	[ "$nl" -eq "$count" ] || die "batch $name: $nl licenses issued, expected $count (see $BOX/$name.log)"
	[ "$(find "$BOX/out-$name" -name '*.kresp' | wc -l)" -eq "$count" ] || die "batch $name: not $count responses"
	B_WALL=$R_WALL
	B_CPU=$(calc "$R_USER + $R_SYS" 3)
	B_CMD_USER=$R_CMD_USER B_CMD_SYS=$R_CMD_SYS
	B_RSS=$R_RSS
	B_PIDS=$R_PIDS
}

# --- the gpg floor (raw GPGME, a copy of the admin keyring) -----------------
mkdir -p "$BOX/floor/req" "$BOX/floor/resp"
cp -a "$A0/gnupg" "$BOX/floor/gnupg"
find "$BOX/floor/gnupg" -maxdepth 1 -type s -delete
# the members' public keys live in their own keyring (STATE/members, issue
# 14); the floor keeps one keyring with both, as before
gpg --homedir "$A0/members" --batch --export 2>/dev/null |
	gpg --homedir "$BOX/floor/gnupg" --batch --quiet --import 2>/dev/null || die "floor: members' keys"
tar xzf "$BOX/req/r000001.kreq" -C "$BOX/floor/req" manifest.json manifest.sig
tar xzf "$BOX/out-lat/l01.kresp" -C "$BOX/floor/resp" manifest.json
FLOOR_CMD=("$FLOOR" --gnupghome "$BOX/floor/gnupg" --signer "$ISSUER_FPR"
	--sign-data "$BOX/floor/resp/manifest.json" --verify-data "$BOX/floor/req/manifest.json"
	--verify-sig "$BOX/floor/req/manifest.sig" --iterations "$FLOOR_ITER")
# --- the gpg floor and the batch, ROUNDS times, alternately ------------------
# One measurement of each moves by 10-15 % on a shared machine; alternating
# them and taking the median of each keeps the ratio from resting on one
# lucky or unlucky moment of either.  The batch's figures all come from its
# median round (by wall clock), the floor's from its median round.
# median_round V1 V2 ...: the 1-based index of the median value (the lower
# middle one for an even count).
median_round() {
	printf '%s\n' "$@" | awk '{ print NR, $1 }' | sort -k2,2g |
		awk -v m=$(( ($# + 1) / 2 )) 'NR == m { print $1 }'
}
F_MS=() F_CPU=() K_W=() K_C=() K_U=() K_S=() K_R=() K_P=()
for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r of $ROUNDS: gpg floor, $FLOOR_ITER x (sign + verify) through GPGME"
	run_timed "floor$r" "$BOX/floor" "$BOX/floor/gnupg" "${FLOOR_CMD[@]}"
	F_MS+=("$(awk '$1 == "floor_ms" { print $2 }' "$BOX/floor$r.log")")
	[ -n "${F_MS[r - 1]}" ] || die "gpg floor: no result (see $BOX/floor$r.log)"
	# CPU per sign + verify of the whole floor run (M timed + 1 warm-up each)
	F_CPU+=("$(calc "($R_USER + $R_SYS) * 1000 / ($FLOOR_ITER + 1)" 2)")
	batch "klic$r" "$A0" "$BOX/req" r "$N"
	K_W+=("$B_WALL") K_C+=("$B_CPU") K_U+=("$B_CMD_USER") K_S+=("$B_CMD_SYS")
	K_R+=("$B_RSS") K_P+=("$B_PIDS")
done
FR=$(median_round "${F_MS[@]}")
KR=$(median_round "${K_W[@]}")
cp "$BOX/floor$FR.log" "$BOX/floor.log"
FLOOR_CPU_MS=${F_CPU[FR - 1]}
B_WALL=${K_W[KR - 1]} B_CPU=${K_C[KR - 1]} B_CMD_USER=${K_U[KR - 1]} B_CMD_SYS=${K_S[KR - 1]}
B_RSS=${K_R[KR - 1]} B_PIDS=${K_P[KR - 1]}
ROUND_LINE="" sep=""
for ((r = 1; r <= ROUNDS; r++)); do
	ROUND_LINE+="${sep}floor ${F_MS[r - 1]} ms, batch $(calc "${K_W[r - 1]} * $CORES / $N" 2) ms = $(calc "${K_W[r - 1]} * $CORES / $N / ${F_MS[r - 1]}" 2)x"
	sep="; "
done
fl() { awk -v k="$1" '$1 == k { print $2 }' "$BOX/floor.log"; }
FLOOR_SIGN=$(fl sign_ms)
FLOOR_VERIFY=$(fl verify_ms)
FLOOR_MS=$(fl floor_ms)
GPGME_VER=$(fl gpgme)
[ -n "$FLOOR_MS" ] || die "gpg floor: no result"

# --- the same floor on every core at once (a diagnostic, no target) --------
# CORES copies of the floor program over one keyring (one gpg-agent, as in
# the batch), started together: what a sign + verify costs per core when
# every core runs gpg.  The batch is compared with the floor above; this
# shows how much of that ratio the machine itself adds when all its cores
# are busy (shared caches, memory, a virtual CPU's sibling).
log "gpg floor: $CORES copies at once"
PIDS=()
for c in $(seq "$CORES"); do
	"${FLOOR_CMD[@]}" >"$BOX/pfloor.$c.log" 2>&1 &
	PIDS+=($!)
done
for p in "${PIDS[@]}"; do
	wait "$p" || die "gpg floor, $CORES at once: failed (see $BOX/pfloor.*.log)"
done
gpgconf --homedir "$BOX/floor/gnupg" --kill all >/dev/null 2>&1 || true
PFLOOR_MS=$(awk '$1 == "floor_ms" { s += $2; n++ } END { if (n) printf "%.3f", s / n }' "$BOX"/pfloor.*.log)
[ -n "$PFLOOR_MS" ] || die "gpg floor, $CORES at once: no result"
PFLOOR_X=$(calc "$PFLOOR_MS / $FLOOR_MS" 2)

K_WALL=$B_WALL K_CPU=$B_CPU K_RSS=$B_RSS K_PROCS=$(per_req "$B_PIDS" "$N")
K_RPS=$(calc "$N / ($K_WALL / 1000)" 1)
K_MSPC=$(calc "$K_WALL * $CORES / $N" 2)
K_UTIL=$(calc "100 * $K_CPU / ($K_WALL / 1000 * $CORES)" 0)
K_FLOOR_RATIO=$(calc "$K_MSPC / $FLOOR_MS" 2)
K_PFLOOR_RATIO=$(calc "$K_MSPC / $PFLOOR_MS" 2)
K_CPU_MS=$(calc "$K_CPU * 1000 / $N" 2)
K_SELF_MS=$(calc "($B_CMD_USER + $B_CMD_SYS) * 1000 / $N" 2)
K_SELF_USER_MS=$(calc "$B_CMD_USER * 1000 / $N" 2)
K_SELF_SYS_MS=$(calc "$B_CMD_SYS * 1000 / $N" 2)
K_GPG_MS=$(calc "$K_CPU_MS - $K_SELF_MS" 2)
K_CPU_RATIO=$(calc "$K_CPU_MS / $FLOOR_CPU_MS" 2)

# --- the shell pipeline over the same requests ------------------------------
log "shell pipeline over $N requests (tar + gpg + sqlite3)"
clone_state "$A0" "$BOX/run-shell"
mapfile -t files < <(reqs_in "$BOX/req" r)
run_timed shell "$BOX/req" "$BOX/run-shell/gnupg" bash "$HERE/shell_issue.sh" "$BOX/run-shell/gnupg" \
	"$BOX/run-shell/ledger.sqlite" "$BOX/out-shell" "${files[@]}"
S_PROCS=$(per_req "$R_PIDS" "$N")
[ "$(nlicenses "$BOX/run-shell")" -eq "$N" ] || die "shell pipeline: $(nlicenses "$BOX/run-shell") licenses, expected $N"
[ "$(find "$BOX/out-shell" -name '*.kresp' | wc -l)" -eq "$N" ] || die "shell pipeline: not $N responses"
# its responses are real: stock gpg verifies a license of one of them
mkdir -p "$BOX/shell-check"
tar xzf "$BOX/out-shell/r000001.kresp" -C "$BOX/shell-check"
gpg --homedir "$BOX/verify" --batch --quiet --verify "$BOX/shell-check/"KRE_*.lic 2>/dev/null ||
	die "shell pipeline: its license does not verify"
S_WALL=$R_WALL
S_CPU=$(calc "$R_USER + $R_SYS" 3)
S_RPS=$(calc "$N / ($S_WALL / 1000)" 1)
S_MSREQ=$(calc "$S_WALL / $N" 2)
S_UTIL=$(calc "100 * $S_CPU / ($S_WALL / 1000 * $CORES)" 0)
S_CPU_MS=$(calc "$S_CPU * 1000 / $N" 2)
KS_RATIO=$(calc "$K_RPS / $S_RPS" 2)

# --- klic install latency ------------------------------------------------------
log "klic install latency"
: >"$BOX/inst1.ms"
: >"$BOX/inst4.ms"
for b in "${LAT_ORDER[@]}"; do
	[[ $b == [lc]* ]] || continue
	f="$BOX/out-lat/$b.kresp"
	if [[ $b == c* ]]; then u=${b#c}; else u=$(((10#${b#l} - 1) % USERS + 1)); fi
	t0=$EPOCHREALTIME
	"$KLIC" --home "$BOX/u$u" install "$f" >/dev/null 2>"$BOX/install.err" ||
		die "klic install $b (u$u): $(cat "$BOX/install.err")"
	ms_since "$t0" >>"$BOX/inst1.ms"
	echo >>"$BOX/inst1.ms"
done
for u in 1 2 3; do
	t0=$EPOCHREALTIME
	"$KLIC" --home "$BOX/u$u" install "$BOX/out-lat/q$u.kresp" >/dev/null 2>"$BOX/install.err" ||
		die "klic install q$u (u$u): $(cat "$BOX/install.err")"
	ms_since "$t0" >>"$BOX/inst4.ms"
	echo >>"$BOX/inst4.ms"
done
rc=0
"$KLIC" --home "$BOX/u4" install "$BOX/out-lat/d1.kresp" >/dev/null 2>"$BOX/install.err" || rc=$?
[ "$rc" -eq 1 ] || die "klic install of a denial: exit $rc, expected 1"
read -r INST1 _ _ INST1_MAX < <(stats "$BOX/inst1.ms")
read -r INST4 _ _ INST4_MAX < <(stats "$BOX/inst4.ms")
nlic1=$(find "$BOX/u1/license" -name 'KRE_*.lic' | wc -l)
[ "$nlic1" -ge 5 ] || die "u1: only $nlic1 licenses installed"

# --- sizes -------------------------------------------------------------------
maxsize() { find "$@" -printf '%s\n' | sort -n | tail -n 1; }
SZ_KREQ=$(maxsize "$BOX/req" "$BOX/lat" -name '*.kreq')
SZ_KRESP1=$(maxsize "$BOX/out-klic$KR" "$BOX/out-lat" -name '[lcr]*.kresp')
SZ_KRESP4=$(maxsize "$BOX/out-lat" -name 'q*.kresp')
SZ_DENIED=$(stat -c %s "$BOX/out-lat/d1.kresp")

# --- --big: ledger scale, and a batch of BIG_N for peak RSS -------------------
L_RATIO="" L_BIG="" L_EMPTY="" L_POP="" G_RSS="" G_RPS="" G_GEN=""
if [ "$BIG" = 1 ]; then
	# (a) a copy of the pristine ledger with LEDGER_ROWS issued licenses.
	log "ledger scale: populating $LEDGER_ROWS licenses"
	clone_state "$A0" "$BOX/st-big"
	db="$BOX/st-big/ledger.sqlite"
	# Columns a newer schema may have added: fill licenses.file, refuse
	# other NOT NULL columns without a default rather than guess.
	lic_file_col="" lic_file_val=""
	for tc in requests:digest,member_fpr,machine_id,product,seats,status,reason_code,reason,entitlement_id,created,response \
		licenses:license_id,request_digest,seat,machine_id,product,issued,expires,entitlement_id,member_fpr; do
		tbl=${tc%%:*} known=",${tc#*:},"
		while IFS='|' read -r col nn dflt; do
			if [ "$tbl" = licenses ] && [ "$col" = file ]; then
				lic_file_col=", file" lic_file_val=", 'KRE_' || r.machine_id || '.lic'"
			elif [[ $known != *",$col,"* ]] && [ "$nn" = 1 ] && [ "$dflt" = 0 ]; then
				die "ledger: $tbl.$col is NOT NULL and unknown to bench.sh; teach it"
			fi
		done < <(sqlite3 "$db" "SELECT name, \"notnull\", dflt_value IS NOT NULL FROM pragma_table_info('$tbl')")
	done
	t0=$EPOCHREALTIME
	# Issue times spread evenly over the past 3 years, expires = issued +
	# 60 days (so about 5 % are active now), 100,000 machines (each renewed
	# about every 110 days), on an extra KRE node-locked yearly entitlement
	# that ends before the bench's (the bench's is preferred, valid longest).
	# License IDs as klic-admin makes them (spec/PROTOCOL.md 1): the issue
	# time in milliseconds, 12 hex digits, then 10 random bytes.
	# Stored responses are a short placeholder; no audit rows.
	sqlite3 -batch "$db" <<-SQL >/dev/null || die "populating the ledger failed"
		.bail on
		PRAGMA foreign_keys = ON;
		BEGIN IMMEDIATE;
		INSERT INTO entitlements (product, model, billing, seats, until, ref, created)
		VALUES ('KRE', 'node-locked', 'yearly', 1000000, date('now', '+300 days'), 'bench-history',
		        strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 years'));
		CREATE TEMP TABLE h AS SELECT last_insert_rowid() AS ent,
		  CAST(strftime('%s', 'now') AS INTEGER) AS now,
		  (SELECT fingerprint FROM members ORDER BY fingerprint LIMIT 1) AS member;
		WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $LEDGER_ROWS - 1)
		INSERT INTO requests (digest, member_fpr, machine_id, product, seats, status, reason_code,
		                      reason, entitlement_id, created, response)
		SELECT lower(hex(randomblob(32))), h.member,
		  printf('BENCH-%05d-%05d-00000-00000', (i % 100000) / 10, i % 10), 'KRE', 1, 'issued',
		  NULL, NULL, h.ent,
		  strftime('%Y-%m-%dT%H:%M:%SZ', h.now - 94608000 + (i * 94608000) / $LEDGER_ROWS, 'unixepoch'),
		  CAST('bench-history' AS BLOB)
		FROM s, h;
		INSERT INTO licenses (license_id, request_digest, seat, machine_id, product, issued, expires,
		                      entitlement_id, member_fpr $lic_file_col)
		SELECT printf('%012x', CAST(strftime('%s', r.created) AS INTEGER) * 1000 + abs(random() % 1000))
		         || lower(hex(randomblob(10))), r.digest, 1, r.machine_id, 'KRE',
		  CAST(strftime('%s', r.created) AS INTEGER), CAST(strftime('%s', r.created) AS INTEGER) + 5184000,
		  r.entitlement_id, r.member_fpr $lic_file_val
		FROM requests r, h WHERE r.entitlement_id = h.ent;
		COMMIT;
		PRAGMA wal_checkpoint(TRUNCATE);
	SQL
	L_POP=$(ms_since "$t0")
	[ "$(nlicenses "$BOX/st-big")" -eq "$LEDGER_ROWS" ] || die "ledger: not $LEDGER_ROWS licenses"
	L_ACTIVE=$(sqlite3 "$db" "SELECT count(*) FROM licenses WHERE expires > CAST(strftime('%s', 'now') AS INTEGER)")
	L_MB=$(calc "$(stat -c %s "$db") / 1048576" 0)
	# Alternate full-ledger and empty-ledger batches over the same N requests;
	# the best of each (the run above counts as an empty one) is compared.
	L_BIG=""
	L_EMPTY=$K_WALL
	for round in 1 2; do
		batch "full$round" "$BOX/st-big" "$BOX/req" r "$N"
		if [ -z "$L_BIG" ] || awk -v a="$B_WALL" -v b="$L_BIG" 'BEGIN { exit !(a < b) }'; then L_BIG=$B_WALL; fi
		rm -rf "$BOX/run-full$round" "$BOX/out-full$round"
		batch "empty$round" "$A0" "$BOX/req" r "$N"
		if awk -v a="$B_WALL" -v b="$L_EMPTY" 'BEGIN { exit !(a < b) }'; then L_EMPTY=$B_WALL; fi
		rm -rf "$BOX/run-empty$round" "$BOX/out-empty$round"
	done
	L_RATIO=$(calc "$L_BIG / $L_EMPTY" 2)
	rm -rf "$BOX/st-big"

	# (b) a batch of BIG_N requests: peak RSS.
	log "generating $BIG_N requests for the big batch (this takes minutes)"
	t0=$EPOCHREALTIME
	gen_requests "$BOX/big" b 1 "$BIG_N" $((0xbf0000000000))
	G_GEN=$(ms_since "$t0")
	batch big "$A0" "$BOX/big" b "$BIG_N"
	G_RSS=$B_RSS
	G_RPS=$(calc "$BIG_N / ($B_WALL / 1000)" 1)
	G_UTIL=$(calc "100 * $B_CPU / ($B_WALL / 1000 * $CORES)" 0)
	rm -rf "$BOX/run-big" "$BOX/out-big"
fi

# --- report --------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ALL_S=$(calc "$(ms_since "$T_ALL") / 1000" 0)
mib() { calc "$1 / 1024" 1; }
# verdict VALUE OP LIMIT: MET / NOT MET.
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" \
		'BEGIN { ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "MET" : "NOT MET" }'
}
ROWS=()
row() { ROWS+=("$1|$2|$3|$4"); }

row "admin batch throughput (N=$N)" "$K_RPS req/s" "" ""
row "shell pipeline throughput (N=$N)" "$S_RPS req/s" "" ""
row "admin / shell throughput" "${KS_RATIO}x" ">= 3x" "$(verdict "$KS_RATIO" '>=' 3)"
row "admin ms per request per core" "$K_MSPC ms" "" ""
row "gpg floor (1 sign + 1 verify)" "$FLOOR_MS ms" "" ""
row "admin per request per core / floor" "${K_FLOOR_RATIO}x" "<= 1.3x" "$(verdict "$K_FLOOR_RATIO" '<=' 1.3)"
row "gpg floor, $CORES at once (per core)" "$PFLOOR_MS ms" "" ""
row "admin per request per core / that" "${K_PFLOOR_RATIO}x" "" ""
row "admin CPU per request / floor's" "${K_CPU_RATIO}x" "" ""
row "admin CPU utilisation, $CORES cores" "$K_UTIL %" ">= 75 %" "$(verdict "$K_UTIL" '>=' 75)"
row "admin peak RSS (N=$N)" "$(mib "$K_RSS") MiB" "" ""
row "klic request latency, agent running" "$REQ_WARM ms" "" ""
row "klic request latency, cold agent" "$REQ_COLD ms" "" ""
row "klic install latency, 1 seat" "$INST1 ms" "" ""
row "klic install latency, 4 seats" "$INST4 ms" "" ""
row ".kreq size (largest)" "$SZ_KREQ B" "<= 2048 B" "$(verdict "$SZ_KREQ" '<=' 2048)"
row ".kresp size, 1 seat (largest)" "$SZ_KRESP1 B" "<= 4096 B" "$(verdict "$SZ_KRESP1" '<=' 4096)"
row ".kresp size, 4 seats" "$SZ_KRESP4 B" "<= 4096 B" "$(verdict "$SZ_KRESP4" '<=' 4096)"
row ".kresp size, denied" "$SZ_DENIED B" "<= 4096 B" "$(verdict "$SZ_DENIED" '<=' 4096)"
if [ "$BIG" = 1 ]; then
	row "ledger of $LEDGER_ROWS / empty (N=$N)" "${L_RATIO}x" "<= 1.1x" "$(verdict "$L_RATIO" '<=' 1.1)"
	row "peak RSS, batch of $BIG_N" "$(mib "$G_RSS") MiB" "<= 64 MiB" "$(verdict "$(mib "$G_RSS")" '<=' 64)"
	row "admin throughput, batch of $BIG_N" "$G_RPS req/s" "" ""
else
	row "ledger of $LEDGER_ROWS / empty" "(--big)" "<= 1.1x" "skipped"
	row "peak RSS, batch of $BIG_N" "(--big)" "<= 64 MiB" "skipped"
fi

cat <<EOF

== details ==
machine        $CORES cores ($(nproc --all) present), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)
versions       $(gpg --version | head -n1), gpgme $GPGME_VER, $(sqlite3 --version | cut -d' ' -f1 | sed 's/^/sqlite /')
load average   start $LOAD_START, end $LOAD_END (other work on the machine skews timings)
machines       $([ "$NS" = 1 ] && echo "one per request (mount namespace per request maker)" || echo "all requests from this machine (not root: no unshare)")
requests       $N made by $USERS members round-robin in $(calc "$GEN_MS / 1000" 1) s (parallel); .kreq largest $SZ_KREQ B
klic request   agent running: mean $REQ_WARM ms, p50 $REQ_WARM_P50, p95 $REQ_WARM_P95, max $REQ_WARM_MAX ($LAT_N runs); cold agent: mean $REQ_COLD ms, max $REQ_COLD_MAX ($USERS runs)
gpg floor      sign $FLOOR_SIGN ms + verify $FLOOR_VERIFY ms = $FLOOR_MS ms (mean of $FLOOR_ITER each, raw GPGME, median sign $(fl sign_ms_median), verify $(fl verify_ms_median))
               CPU $FLOOR_CPU_MS ms per sign + verify (whole process tree, gpg-agent included)
               $CORES copies at once: $PFLOOR_MS ms per sign + verify in each = ${PFLOOR_X}x the floor (all cores busy)
admin batch    wall $(calc "$K_WALL / 1000" 3) s, CPU $K_CPU s (whole process tree, gpg-agent included), utilisation $K_UTIL % of $CORES cores
               CPU $K_CPU_MS ms per request = ${K_CPU_RATIO}x the floor's: klic-admin itself $K_SELF_MS (user $K_SELF_USER_MS, sys $K_SELF_SYS_MS), gpg + agent $K_GPG_MS
               peak RSS $(mib "$K_RSS") MiB, $K_PROCS PIDs per request (processes, GPGME's intermediate forks, threads)
               $K_RPS req/s, $(calc "$K_WALL / $N" 2) ms per request, $K_MSPC ms per request per core = ${K_FLOOR_RATIO}x floor (${K_PFLOOR_RATIO}x the floor with all cores busy)
rounds         $ROUND_LINE (medians: floor round $FR, batch round $KR)
shell pipeline wall $(calc "$S_WALL / 1000" 3) s, CPU $S_CPU s (whole process tree), utilisation $S_UTIL % of $CORES cores, $S_PROCS PIDs per request
               $S_RPS req/s, $S_MSREQ ms per request (sequential), CPU $S_CPU_MS ms per request; admin/shell ${KS_RATIO}x
klic install   1 seat: mean $INST1 ms, max $INST1_MAX ($((LAT_N + USERS)) runs); 4 seats: mean $INST4 ms, max $INST4_MAX (3 runs)
EOF
if [ "$BIG" = 1 ]; then
	cat <<EOF
ledger scale   $LEDGER_ROWS licenses ($L_ACTIVE active now, ${L_MB} MiB) populated in $(calc "$L_POP / 1000" 1) s;
               best of runs: full $(calc "$L_BIG / 1000" 3) s vs empty $(calc "$L_EMPTY / 1000" 3) s = ${L_RATIO}x
big batch      $BIG_N requests (made in $(calc "$G_GEN / 1000" 0) s): $G_RPS req/s, utilisation $G_UTIL %, peak RSS $(mib "$G_RSS") MiB
EOF
fi
echo "total          ${ALL_S} s"
echo
echo "== summary (ratios from this one run) =="
printf '%-40s %16s %11s  %s\n' "figure" "value" "target" "verdict"
for r in "${ROWS[@]}"; do
	IFS='|' read -r a b c d <<<"$r"
	printf '%-40s %16s %11s  %s\n' "$a" "$b" "$c" "$d"
done
