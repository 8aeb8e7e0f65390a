#!/usr/bin/env bash
# Issue 17's bench (README.md here, "Web console"): the Offline licenses page
# of `klic-admin serve` on a ledger of R licenses against the same pages on
# the small ledger of this run, and one request issued through the server
# (upload, preview, confirm, download) against `klic-admin issue` of the same
# request, all in ONE run on a fresh sandbox under /tmp.
#
# usage: web.sh [--build DIR] [--rows R] [--rounds N] [--issue-n K] [--keep]
#   --build DIR   build tree holding request/klic, response/klic-admin,
#                 response/vendor/klic-vendor (default build/normal)
#   --rows R      licenses in the big ledger (default 1000000)
#   --rounds N    rounds over the page kinds (default 20; 10 kinds a round)
#   --issue-n K   requests issued both ways, alternately (default 10, <= 30)
#   --keep        keep the sandbox (also KEEP=1)
# Exit 0 when every step ran (targets met or not), non-zero when one failed.
# It never asserts a timing: the summary says MET / NOT MET.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD="$SRC/build/normal" ROWS=1000000 ROUNDS=20 ISSUE_N=10
usage() { sed -n '/^# usage:/,/^# It never/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
posint() { [[ $2 =~ ^[1-9][0-9]{0,7}$ ]] || { echo "web bench: $1 needs a positive integer, got '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || { usage >&2; exit 2; }; BUILD=$2; shift 2 ;;
	--rows) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --rows "$2"; ROWS=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --rounds "$2"; ROUNDS=$2; shift 2 ;;
	--issue-n) [ $# -ge 2 ] || { usage >&2; exit 2; }; posint --issue-n "$2"; ISSUE_N=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "web bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
[ "$ISSUE_N" -le 30 ] || { echo "web bench: --issue-n at most 30 (one machine)" >&2; exit 2; }
export KEEP=${KEEP:-0}
BUILD=$(cd "$BUILD" && pwd)
KLIC="$BUILD/request/klic"
ADMIN="$BUILD/response/klic-admin"
export KLIC_VENDOR=${KLIC_VENDOR:-$BUILD/response/vendor/klic-vendor}
for b in "$KLIC" "$ADMIN" "$KLIC_VENDOR"; do
	[ -x "$b" ] || { echo "web bench: $b missing (build first)" >&2; exit 1; }
done
for t in curl python3 sqlite3; do
	command -v "$t" >/dev/null || { echo "web bench: $t missing (setup.sh installs it): skipped" >&2; exit 77; }
done
# the sandbox (BOX), its cleanup and the organization helpers of the tests
. "$SRC/tests/lib.sh"
SRV_PID=
trap 'if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; fi; t_cleanup' EXIT
log() { echo "web bench: $*" >&2; }
die() { echo "web bench: $*" >&2; exit 1; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "MET" : "NOT MET") }'; }

serve_start() { # STATE: the server in the background; sets SRV_PID, URL, ORIGIN
	: >"$BOX/srv.out"
	"$ADMIN" --state "$1" serve >"$BOX/srv.out" 2>"$BOX/srv.err" &
	SRV_PID=$!
	for _ in $(seq 600); do
		[ -s "$BOX/srv.out" ] && break
		kill -0 "$SRV_PID" 2>/dev/null || die "serve did not start: $(cat "$BOX/srv.err")"
		sleep 0.1
	done
	URL=$(head -n1 "$BOX/srv.out")
	ORIGIN=${URL%%/login*}
	[ -n "$URL" ] || die "serve printed no URL"
}
serve_stop() {
	kill -TERM "$SRV_PID"
	wait "$SRV_PID" || die "serve did not stop cleanly"
	SRV_PID=
}
copy_state() { # FROM TO: a copy with no gpg-agent running and no socket
	gpgconf --homedir "$1/gnupg" --kill all 2>/dev/null || true
	cp -a "$1" "$2"
	find "$2" -type s -delete
}

# --- 1. sandbox: an organization, one user, ISSUE_N requests -------------------
cd "$BOX"
log "sandbox $BOX"
A="$BOX/org" U="$BOX/ada"
t_org_setup "$A" "Acme" 500 KRE >&2
"$ADMIN" --state "$A" export-key -o issuer.asc >/dev/null
"$KLIC" --home "$U" init --name "Ada User" --email ada@test.invalid >/dev/null
"$KLIC" --home "$U" trust issuer.asc >/dev/null
mkdir -p req
for i in $(seq "$ISSUE_N"); do
	"$KLIC" --home "$U" request --product KRE -o "req/r$i.kreq" >/dev/null
done
"$ADMIN" --state "$A" member add --yes --from-request req/r1.kreq >/dev/null
gpgconf --homedir "$U/gnupg" --kill all 2>/dev/null || true
copy_state "$A" "$BOX/org-cli"

# --- 2. one request: through the server vs klic-admin issue, alternately --------
log "issue: $ISSUE_N requests through the server and through klic-admin issue"
serve_start "$A"
curl -s -o /dev/null -c jar.txt "$URL"
: >web.ms
: >cli.ms
: >preview.ms
for i in $(seq "$ISSUE_N"); do
	t0=$EPOCHREALTIME
	csrf=$(curl -sf -b jar.txt "$ORIGIN/issue" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -n1 | cut -d'"' -f4)
	batch=$(curl -sf -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$csrf" -F "kreq=@req/r$i.kreq" "$ORIGIN/issue/preview" |
		grep -o 'name="batch" value="[0-9a-f]*"' | cut -d'"' -f4)
	ms_since "$t0" >>preview.ms
	echo >>preview.ms
	curl -sf -b jar.txt -H "Origin: $ORIGIN" -F "csrf=$csrf" -F "batch=$batch" "$ORIGIN/issue/confirm" >confirm.html
	curl -sf -b jar.txt -o "web$i.kresp" "$ORIGIN/issue/download?batch=$batch"
	ms_since "$t0" >>web.ms
	echo >>web.ms
	grep -q "OK   r$i.kreq -&gt; r$i.kresp: issued 1 KRE seat" confirm.html || die "web issue of r$i.kreq: $(grep -o '<ul id="results">.*' confirm.html | head -c 300)"
	t0=$EPOCHREALTIME
	"$ADMIN" --state "$BOX/org-cli" issue "req/r$i.kreq" -o "cli$i" --yes >cli.txt 2>&1 || die "klic-admin issue r$i.kreq: $(cat cli.txt)"
	ms_since "$t0" >>cli.ms
	echo >>cli.ms
	grep -q "^OK " cli.txt || die "klic-admin issue r$i.kreq: $(cat cli.txt)"
done
serve_stop
same=$(sqlite3 "$A/ledger.sqlite" "SELECT count(*) FROM licenses")
[ "$same" = "$(sqlite3 "$BOX/org-cli/ledger.sqlite" "SELECT count(*) FROM licenses")" ] || die "ledgers differ after issuing"
W_MED=$(grep . web.ms | median) C_MED=$(grep . cli.ms | median)
I_RATIO=$(ratio "$W_MED" "$C_MED")

# --- 3. pages: the small ledger of this run, then one of ROWS licenses ----------
MEMBER=$(sqlite3 "$A/ledger.sqlite" "SELECT fingerprint FROM members LIMIT 1")
MACHINE=$("$KLIC" --home "$U" id)
pages() { # STATE MACHINE MEMBER OUT
	serve_start "$1"
	python3 "$HERE/web_pages.py" "$URL" "$ROUNDS" first= middle=page=mid last=page=last \
		product=product=KSE product_last=product=KSE\&page=last active=state=active \
		expired=state=expired\&page=mid machine=machine="$2" member=member="$3" \
		member_last=member="$3"\&page=last >"$4" || die "pages of $1 failed"
	serve_stop
}
log "pages: small ledger ($same licenses), $ROUNDS rounds"
pages "$A" "$MACHINE" "$MEMBER" small.txt
copy_state "$A" "$BOX/org-big"
log "pages: populating $ROWS licenses"
t0=$EPOCHREALTIME
read -r B_ACTIVE B_MACHINE B_MEMBER < <(python3 "$HERE/web_ledger.py" "$BOX/org-big/ledger.sqlite" "$ROWS") ||
	die "populating the ledger failed"
P_MS=$(ms_since "$t0")
B_MB=$(awk -v b="$(stat -c %s "$BOX/org-big/ledger.sqlite")" 'BEGIN { printf "%.0f", b / 1048576 }')
log "pages: big ledger, $ROUNDS rounds"
pages "$BOX/org-big" "$B_MACHINE" "$B_MEMBER" big.txt

# --- 4. summary -----------------------------------------------------------------
fig() { awk -v k="$2" -v f="$3" '$1 == k { for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) }' "$1"; }
echo "== details: page times in ms (wall clock per request), small ledger ($same licenses)"
cat small.txt
echo "== details: big ledger ($ROWS licenses, $B_ACTIVE active now, $B_MB MiB, populated in $(awk -v m="$P_MS" 'BEGIN { printf "%.1f", m / 1000 }') s)"
cat big.txt
echo "== details: issue times in ms: web $(grep . web.ms | tr '\n' ' ')/ cli $(grep . cli.ms | tr '\n' ' ')"
echo "   of which the preview (GET /issue + POST /issue/preview: the request read, verified and decided,"
echo "   nothing written; the confirmation reads and decides again, without a second gpg verification of the same bytes, and signs): $(grep . preview.ms | tr '\n' ' ')"
S95=$(fig small.txt all p95) B95=$(fig big.txt all p95) S50=$(fig small.txt all p50) B50=$(fig big.txt all p50)
echo "== summary"
printf '%-44s %10s %10s %s\n' "measure" "value" "target" "verdict"
printf '%-44s %10s %10s %s\n' "licenses page p95, $ROWS licenses (ms)" "$B95" "<= 100" "$(verdict "$B95" 100)"
printf '%-44s %10s %10s %s\n' "licenses page p50, $ROWS licenses (ms)" "$B50" "" ""
printf '%-44s %10s %10s %s\n' "licenses page p95 / small ledger" "$(ratio "$B95" "$S95")x" "" "(small p95 $S95 ms, p50 $S50 ms)"
printf '%-44s %10s %10s %s\n' "issue 1 request: server / klic-admin issue" "${I_RATIO}x" "<= 1.5x" "$(verdict "$I_RATIO" 1.5) (median $W_MED vs $C_MED ms)"
printf '%-44s %10s %10s %s\n' "  of which the preview (median ms)" "$(grep . preview.ms | median)" "" ""
