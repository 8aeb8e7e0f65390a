#!/usr/bin/env bash
# Adversarial end-to-end suite (issue 5): a hostile file can never change
# anything, on either tool.
#
# Fixtures are made by the real binaries in a /tmp sandbox (two admin
# organizations, three users), then rewritten by klic_test_mutate and stock
# gpg.  Every refusal case asserts, in refused():
#   - exit status 1 (refused),
#   - exactly one stderr line, printable, naming the input file and matching
#     the expected reason,
#   - nothing changed anywhere in the sandbox (every file's bytes and mode,
#     every directory: license folders, pending/installed records, clock,
#     keyrings, the admin -o directory, the current directory, HOME, TMPDIR),
#   - every admin ledger dumps identically (seats, requests, members, audit),
#   - for bombs: under BOUND_S seconds and BOUND_MIB MiB resident.
# Two other kinds of case: unchanged() for a legitimate no-op (installing
# the installed response again: exit 0, nothing changed), and denial() for a
# request the admin can attribute but must not serve (spec 5.3: exit 0, a
# signed not-member denial is the only new file, no seat spent).  The
# harness checks itself first with fake tools that break each assertion.
# Members are enumerated from the real bundles (tar tzf), so the per-member
# cases follow whatever the format holds.  The other-machine cases need root
# and unshare -m, the clock cases faketime: without them they are reported
# as SKIP lines and in the summary, never silently.
#
# usage: run.sh KLIC KLIC_ADMIN MUTATE     (KEEP=1 keeps the sandbox,
#        VERBOSE=1 shows the harness self-test)
. "$(dirname "$0")/../lib.sh"
KLIC=$1 ADMIN=$2 MUTATE=$3
HERE=$(cd "$(dirname "$0")" && pwd)
trap 'echo "FAIL - run.sh stopped: line $LINENO: $BASH_COMMAND (exit $?)"' ERR
BOUND_S=5 BOUND_MIB=200

A="$BOX/a"       # organization A: the users' pinned issuer
AOLD="$BOX/a-old" # a copy of A's state (same issuer key), short entitlement
ABAK="$BOX/a-bak" # a backup of A's state, restored after A issued more
B="$BOX/b"       # organization B: another organization's admin
U="$BOX/u"       # ada: member of A (and of B), the victim of most cases
V="$BOX/v"       # bob: member of A
E="$BOX/e"       # eve: member of nothing
W="$BOX/w"       # the current directory: fixtures and mutants
OUT="$BOX/outbox" # klic-admin issue -o
CAP="$BOX/.cap"  # captured stdout/stderr of the case under test (not watched)
mkdir -p "$BOX/home" "$BOX/tmp" "$W" "$OUT" "$CAP"
export HOME="$BOX/home" TMPDIR="$BOX/tmp"
unset KLIC_HOME KLIC_ADMIN_HOME GNUPGHOME
cd "$W"

adm() { local s=$1; shift; "$ADMIN" --state "$s" "$@"; }
usr() { local h=$1; shift; "$KLIC" --home "$h" "$@"; }
mut() { "$MUTATE" "$@"; }
die() { echo "FAIL - fixture: $*"; exit 1; }
kill_agent() { gpgconf --homedir "$1" --kill all >/dev/null 2>&1 || true; }
# clone SRC DST: copy a state/home with its keyring (agent stopped first)
clone() {
	find "$1" -type d -name gnupg -print0 | while IFS= read -r -d '' g; do kill_agent "$g"; done
	cp -a "$1" "$2"
	find "$2" -path '*/gnupg/S.*' -delete
}

# ---- the checks ------------------------------------------------------------------

# snap: every path in the sandbox with type, mode and link target, then the
# SHA-256 of every regular file.  Excluded: gpg's own runtime litter (agent
# sockets, random_seed, lock files), the ledger files (compared by dump:
# SQLite may checkpoint its WAL on a read) and the capture directory.
snap() {
	(cd "$BOX" && find . \( -path ./.cap -o -name 'S.gpg-agent*' -o -name 'S.scdaemon' \
		-o -name 'S.dirmngr' -o -name random_seed -o -name '*.lock' -o -name '.#lk*' \
		-o -name 'ledger.sqlite*' \) -prune -o -printf '%y %m %p -> %l\n' | sort
	 cd "$BOX" && find . \( -path ./.cap -o -name 'S.gpg-agent*' -o -name 'S.scdaemon' \
		-o -name 'S.dirmngr' -o -name random_seed -o -name '*.lock' -o -name '.#lk*' \
		-o -name 'ledger.sqlite*' \) -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
ledgers() {
	local s
	for s in "$A" "$AOLD" "$ABAK" "$B"; do
		[ -e "$s/ledger.sqlite" ] && { echo "== $s"; sqlite3 "$s/ledger.sqlite" .dump; }
	done
	return 0
}
# seat_tables: the seat-spending tables only (a not-member denial may audit)
seat_tables() {
	local s
	for s in "$A" "$AOLD" "$ABAK" "$B"; do
		[ -e "$s/ledger.sqlite" ] && { echo "== $s"; sqlite3 "$s/ledger.sqlite" '.dump requests licenses'; }
	done
	return 0
}

N_CASES=0 N_FAIL=0 N_SKIP=0
ok() { N_CASES=$((N_CASES + 1)); echo "ok - $*"; }
bad() { N_CASES=$((N_CASES + 1)); N_FAIL=$((N_FAIL + 1)); echo "FAIL - $*"; }
skip() { echo "SKIP - $*"; N_SKIP=$((N_SKIP + 1)); }

# diff_note BEFORE AFTER: the first changed lines, for a failure message
diff_note() { diff <(echo "$1") <(echo "$2") | grep '^[<>]' | head -4 | tr '\n' ' '; }

# refused NAME REGEX FILE CMD...: see the header.  BOUND=1 in the
# environment also enforces the time and memory bounds (CMD must then be a
# program, not a shell function).
refused() {
	local name=$1 rx=$2 file=$3; shift 3
	local s0 s1 l0 l1 rc=0 line secs kib
	s0=$(snap); l0=$(ledgers)
	if [ "${BOUND:-0}" = 1 ]; then
		timeout 60 /usr/bin/time -o "$CAP/time" -f '%e %M' "$@" >"$CAP/out" 2>"$CAP/err" || rc=$?
	else
		"$@" >"$CAP/out" 2>"$CAP/err" || rc=$?
	fi
	s1=$(snap); l1=$(ledgers)
	line=$(head -n 1 "$CAP/err")
	if [ "$rc" -ne 1 ]; then
		bad "$name: exit $rc, expected 1 ($(head -c 300 "$CAP/err" | tr '\n' '|'))"
	elif [ "$(wc -l <"$CAP/err")" -ne 1 ] || [ "$(tail -c 1 "$CAP/err" | od -An -c | tr -d ' ')" != '\n' ]; then
		bad "$name: $(wc -l <"$CAP/err") stderr lines, expected 1: $(head -c 300 "$CAP/err" | tr '\n' '|')"
	elif LC_ALL=C grep -q '[^ -~]' <<<"$line"; then
		bad "$name: stderr line has non-printable bytes: $(printf '%q' "$line")"
	elif [[ "$line" != *": $file: "* ]]; then
		bad "$name: stderr does not name $file: $line"
	elif ! grep -Eqi -- "$rx" <<<"$line"; then
		bad "$name: reason does not match /$rx/: $line"
	elif [ "$s0" != "$s1" ]; then
		bad "$name: the sandbox changed: $(diff_note "$s0" "$s1")"
	elif [ "$l0" != "$l1" ]; then
		bad "$name: a ledger changed: $(diff_note "$l0" "$l1")"
	elif [ "${BOUND:-0}" = 1 ] && ! read -r secs kib < <(tail -n 1 "$CAP/time"); then
		bad "$name: no time/memory measurement"
	elif [ "${BOUND:-0}" = 1 ] && { awk -v s="$secs" -v b="$BOUND_S" 'BEGIN { exit !(s >= b) }' || [ "$kib" -ge $((BOUND_MIB * 1024)) ]; }; then
		bad "$name: took ${secs}s and $((kib / 1024)) MiB (bounds ${BOUND_S}s, ${BOUND_MIB} MiB): $line"
	else
		if [ "${BOUND:-0}" = 1 ]; then
			ok "$name: $line [${secs}s, $((kib / 1024)) MiB]"
		else
			ok "$name: $line"
		fi
	fi
}

# unchanged NAME CMD...: a legitimate no-op (exit 0) that changes nothing.
unchanged() {
	local name=$1; shift
	local s0 s1 l0 l1 rc=0
	s0=$(snap); l0=$(ledgers)
	"$@" >"$CAP/out" 2>"$CAP/err" || rc=$?
	s1=$(snap); l1=$(ledgers)
	if [ "$rc" -ne 0 ]; then bad "$name: exit $rc ($(head -c 300 "$CAP/err"))"
	elif [ "$s0" != "$s1" ]; then bad "$name: the sandbox changed: $(diff_note "$s0" "$s1")"
	elif [ "$l0" != "$l1" ]; then bad "$name: a ledger changed: $(diff_note "$l0" "$l1")"
	else ok "$name: exit 0, nothing changed: $(head -n 1 "$CAP/out")"; fi
}

# denial NAME STATE FILE.kreq: `klic-admin issue` answers a request it can
# attribute but must not serve with a signed denial (spec 5.3): exit 0, the
# only new file is OUT/NAME.kresp, which stock gpg verifies with that
# organization's key, status denied, reason not-member, no license member;
# no seat spent (requests and licenses tables identical).
denial() {
	local name=$1 st=$2 file=$3
	local base resp s0 s1 t0 t1 rc=0 d="$CAP/denial" v="$BOX/gnupg-verify-$(basename "$st")"
	base=$(basename "$file" .kreq); resp="$OUT/$base.kresp"
	s0=$(snap); t0=$(seat_tables)
	adm "$st" issue "$file" -o "$OUT" --yes >"$CAP/out" 2>"$CAP/err" || rc=$?
	s1=$(snap | grep -vF "./outbox/$base.kresp"); t1=$(seat_tables)
	rm -rf "$d"; mkdir -p "$d"
	if [ "$rc" -ne 0 ]; then bad "$name: exit $rc ($(head -c 300 "$CAP/err"))"
	elif [ ! -f "$resp" ]; then bad "$name: no $resp"
	elif [ "$s0" != "$s1" ]; then bad "$name: the sandbox changed beyond $resp: $(diff_note "$s0" "$s1")"
	elif [ "$t0" != "$t1" ]; then bad "$name: a seat was spent: $(diff_note "$t0" "$t1")"
	elif ! tar xzf "$resp" -C "$d" || [ "$(tar tzf "$resp" | grep -c '\.lic$')" -ne 0 ]; then
		bad "$name: the denial holds licenses: $(tar tzf "$resp" | tr '\n' ' ')"
	elif ! gpg --homedir "$v" --batch --quiet --verify "$d/manifest.sig" "$d/manifest.json" 2>/dev/null; then
		bad "$name: the denial's signature does not verify with the issuer key"
	elif [ "$(python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["status"], m.get("reason_code"))' "$d/manifest.json")" != "denied not-member" ]; then
		bad "$name: not a not-member denial: $(head -c 300 "$d/manifest.json")"
	else
		ok "$name: signed denial not-member, nothing spent: $(head -n 1 "$CAP/out")"
	fi
	rm -f "$resp"
}

# Every refusal must give one of the documented reasons (spec 6), never an
# internal, I/O or engine error: RX_ANY is the error table's refusal messages.
RX_ANY='already exists|file too large|not a gzip|truncated or corrupt|data after the end|member name not allowed'
RX_ANY+='|not a regular file|duplicate archive member|member too large|too many archive members|member missing'
RX_ANY+='|too large when decompressed|does not match its SHA-256|do not match the manifest|malformed JSON'
RX_ANY+='|wrong document type|unsupported document version|missing, unknown or invalid field|malformed machine ID'
RX_ANY+='|malformed license|no signature|more than one signature|bad signature|unknown key|wrong key|key expired'
RX_ANY+='|key revoked|algorithm not allowed|signature expired|unusable key|another machine|pending request'
RX_ANY+='|license expired|in the future|clock is behind|request denied|older one|documents disagree'
RX_ANY+='|not a registered member|no issuer key pinned|not covered by its entitlement|no trusted vendor key'

# ---- fixtures, made by the real binaries -------------------------------------------
far=2099-12-31
soon=$(date -u -d '+20 days' +%F)
t_vendor || die "vendor"
adm "$A" init --org "Org A" --name "Admin A" --email a@test.invalid --vendor "$BOX/vendor.asc" >/dev/null || die "init A"
adm "$B" init --org "Org B" --name "Admin B" --email b@test.invalid --vendor "$BOX/vendor.asc" >/dev/null || die "init B"
adm "$A" export-key -o a.asc && adm "$B" export-key -o b.asc || die export-key
AFPR=$(gpg --batch --with-colons --import-options show-only --import a.asc 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
for s in a b; do
	mkdir -m 700 "$BOX/gnupg-verify-$s"
	gpg --homedir "$BOX/gnupg-verify-$s" --batch --quiet --import "$s.asc" 2>/dev/null
done
usr "$U" init --name Ada --email ada@test.invalid >/dev/null || die "init ada"
usr "$V" init --name Bob --email bob@test.invalid >/dev/null || die "init bob"
usr "$E" init --name Eve --email eve@test.invalid >/dev/null || die "init eve"
for h in "$U" "$V" "$E"; do usr "$h" trust a.asc >/dev/null || die "trust"; done
MID=$(usr "$U" id)
# u.kreq: 2 seats, the response whose members are mutated
usr "$U" request --product KRE --seats 2 -o u.kreq >/dev/null || die "request u"
usr "$V" request --product KRE -o v.kreq >/dev/null || die "request v"
adm "$A" member add --yes --from-request u.kreq >/dev/null && adm "$A" member add --yes --from-request v.kreq >/dev/null || die "member add"
adm "$B" member add --yes --from-request u.kreq >/dev/null || die "member add B"
clone "$A" "$AOLD"
t_entitle "$A" 40 KRE node-locked yearly --until $far || die "entitle A"
clone "$A" "$ABAK" # a backup restored later: it knows nothing issued from now on
t_entitle "$AOLD" 40 KRE node-locked yearly --until "$soon" || die "entitle A-old"
t_entitle "$B" 40 KRE node-locked yearly --until $far || die "entitle B"
# u first, on its own: its licenses get the machine's first names (KRE_<id>.lic,
# _2), which the older-license case relies on (a batch may answer v first)
adm "$A" issue u.kreq -o "$OUT" --yes >/dev/null && adm "$A" issue v.kreq -o "$OUT" --yes >/dev/null ||
	die "issue u, v"
mv "$OUT/u.kresp" u.kresp; mv "$OUT/v.kresp" v.kresp
mkdir -p "$OUT/b" && adm "$B" issue u.kreq -o "$OUT/b" --yes >/dev/null && mv "$OUT/b/u.kresp" b-u.kresp && rmdir "$OUT/b" || die "issue B"
usr "$U" request --product KSE -o u-kse.kreq >/dev/null && adm "$A" issue u-kse.kreq -o . --yes >/dev/null || die "KSE denial"
usr "$U" request --product KRE -o u-old.kreq >/dev/null && adm "$AOLD" issue u-old.kreq -o . --yes >/dev/null || die "older"
usr "$U" request --product KRE -o u-inst.kreq >/dev/null || die "request u-inst"
adm "$A" issue u-inst.kreq -o . --yes >/dev/null || die "issue u-inst"
adm "$ABAK" issue u-inst.kreq -o "$OUT" --yes >/dev/null && mv "$OUT/u-inst.kresp" u-inst-bak.kresp || die "issue from the backup"
usr "$U" request --product KRE -o u-adm.kreq >/dev/null || die "request u-adm"   # never issued: request cases
usr "$E" request --product KRE -o e.kreq >/dev/null || die "request e"
usr "$V" request --product KRE -o v-b.kreq >/dev/null || die "request v-b"   # bob is no member of B
# control: the untouched fixtures are accepted (in clones), and klic_test_mutate
# without an operation reproduces them byte for byte
for f in u.kresp u.kreq; do
	mut "$f" "copy-$f" && cmp -s "$f" "copy-$f" || die "mutate does not reproduce $f"
done
clone "$U" "$BOX/u-ctl"
usr "$BOX/u-ctl" install u.kresp >/dev/null 2>&1 || die "control: u.kresp does not install"
clone "$A" "$BOX/a-ctl"
grep -q '^OK ' <<<"$(adm "$BOX/a-ctl" issue u-adm.kreq -o "$BOX/a-ctl" --yes 2>/dev/null)" || die "control: u-adm.kreq is not issued"
usr "$U" install u-inst.kresp >/dev/null || die "install u-inst"
# a home holding u.kresp's licenses (KRE_<id>.lic, _2, from A, 60 days): the
# old ledger, which knows nothing of them, named u-old's short license
# KRE_<id>.lic too
UOLD="$BOX/u-older"
clone "$U" "$UOLD"
usr "$UOLD" install u.kresp >/dev/null || die "install u.kresp in the older-license home"
L="$U/license"
LIC=$(ls "$L"/*.lic | head -n 1); cp "$LIC" good.lic
# a license is only valid under a name its signed bytes grant: standalone
# copies keep the installed name, each in its own folder
LICNAME=$(basename "$LIC"); mkdir -p lic && cp "$LIC" "lic/$LICNAME"; GOOD="lic/$LICNAME"
LIC1=$(tar tzf u.kresp | grep '\.lic$' | head -n 1)   # a license member of u.kresp
FREE=""                                               # a license name u.kresp does not hold
for k in 61 62 63; do grep -qxF "KRE_${MID}_$k.lic" <<<"$(tar tzf u.kresp)" || { FREE="KRE_${MID}_$k.lic"; break; }; done
[ -n "$FREE" ] || die "no free license name"
# the harness itself: each of these fake refusals must be caught
selftest() {
	local what=$1 out; shift
	out=$(refused "self-test" "$RX_ANY" "$W/x" "$@")
	[[ "$out" == FAIL* ]] || die "the harness misses $what: $out"
	if [ "${VERBOSE:-0}" = 1 ]; then echo "# self-test, $what: $out"; fi
}
fake() { echo "klic: $W/x: bad signature" >&2; eval "$1"; return "${2:-1}"; }
selftest "an exit status 0" fake : 0
selftest "an exit status 3" fake : 3
selftest "a second stderr line" fake 'echo second >&2'
selftest "a control character" bash -c 'printf "klic: %s: bad \033[2J signature\n" "$0" >&2; exit 1' "$W/x"
selftest "a line not naming the file" bash -c 'echo "klic: bad signature" >&2; exit 1'
selftest "an undocumented reason" bash -c 'echo "klic: $0: internal error" >&2; exit 1' "$W/x"
selftest "a file created in the -o directory" fake 'touch "$OUT/x.kresp"'
rm -f "$OUT/x.kresp"
selftest "a pending record removed" fake 'mv "$U/klic/pending" "$BOX/pending.away"'
mv "$BOX/pending.away" "$U/klic/pending"
selftest "a license byte changed" fake 'printf x >>"$LIC"'
cp good.lic "$LIC"
selftest "a mode changed" fake 'chmod 600 "$LIC"'
chmod 644 "$LIC"
selftest "a file in HOME" fake 'touch "$HOME/.x"'
rm -f "$HOME/.x"
selftest "a ledger row" fake 'sqlite3 "$A/ledger.sqlite" "INSERT INTO meta VALUES (\"x\", \"y\")"'
sqlite3 "$A/ledger.sqlite" "DELETE FROM meta WHERE key = 'x'"
BOUND=1 BOUND_S=1 selftest "a time bound" bash -c 'sleep 1.2; echo "klic: $0: bad signature" >&2; exit 1' "$W/x"
BOUND=1 BOUND_MIB=20 selftest "a memory bound" python3 -c 'import sys; x = bytearray(40 << 20); x[::4096] = b"y" * len(x[::4096]); print("klic: " + sys.argv[1] + ": bad signature", file=sys.stderr); sys.exit(1)' "$W/x"
echo "# the harness catches every kind of change it claims to (self-test passed)"
echo "# fixtures: machine $MID; members of u.kresp: $(tar tzf u.kresp | tr '\n' ' ')"

# ---- 1. every member of a .kresp: flipped at start/middle/end, dropped, duplicated --
for m in $(tar tzf u.kresp); do
	for pos in start middle end; do
		mut u.kresp "r-flip-$pos-$m.kresp" flip "$m" "$pos"
		refused "kresp: $m flipped at $pos" "$RX_ANY" "r-flip-$pos-$m.kresp" usr "$U" install "r-flip-$pos-$m.kresp"
	done
	mut u.kresp "r-drop-$m.kresp" drop "$m"
	refused "kresp: $m dropped" "$RX_ANY" "r-drop-$m.kresp" usr "$U" install "r-drop-$m.kresp"
	mut u.kresp "r-dup-$m.kresp" dup "$m"
	refused "kresp: $m duplicated with other bytes" 'duplicate' "r-dup-$m.kresp" usr "$U" install "r-dup-$m.kresp"
done

# ---- 1b. spec 5.2 #12: which error for which license member ----------------------------
LICS=($(tar tzf u.kresp | grep '\.lic$'))
tar xzOf v.kresp "$(tar tzf v.kresp | grep '\.lic$' | head -n 1)" >other.lic
printf 'not a license\n' >notlic.txt
mut u.kresp r12-first.kresp set "${LICS[0]}" other.lic
refused "kresp #12: the first license is another response's valid license" \
	"documents disagree: ${LICS[0]} is not the clear-signed manifest.json\$" r12-first.kresp usr "$U" install r12-first.kresp
mut u.kresp r12-second.kresp set "${LICS[1]}" other.lic
refused "kresp #12: a later license differs from the first" \
	"documents disagree: ${LICS[1]} differs from ${LICS[0]}\$" r12-second.kresp usr "$U" install r12-second.kresp
mut u.kresp r12-shape.kresp set "${LICS[0]}" notlic.txt
refused "kresp #12: the first license is not of the .lic shape" \
	"malformed license file: ${LICS[0]}: " r12-shape.kresp usr "$U" install r12-shape.kresp
mut u.kresp r12-drop.kresp drop "${LICS[1]}"
refused "kresp #12: a listed license is absent" \
	"archive members do not match the manifest: 3 members for 2 listed licenses\$" r12-drop.kresp usr "$U" install r12-drop.kresp

# ---- 2. every member of a .kreq ------------------------------------------------------
for m in $(tar tzf u-adm.kreq); do
	for pos in start middle end; do
		mut u-adm.kreq "q-flip-$pos-$m.kreq" flip "$m" "$pos"
		refused "kreq: $m flipped at $pos" "$RX_ANY" "q-flip-$pos-$m.kreq" adm "$A" issue "q-flip-$pos-$m.kreq" -o "$OUT" --yes
	done
	mut u-adm.kreq "q-drop-$m.kreq" drop "$m"
	refused "kreq: $m dropped" "$RX_ANY" "q-drop-$m.kreq" adm "$A" issue "q-drop-$m.kreq" -o "$OUT" --yes
	mut u-adm.kreq "q-dup-$m.kreq" dup "$m"
	refused "kreq: $m duplicated with other bytes" 'duplicate' "q-dup-$m.kreq" adm "$A" issue "q-dup-$m.kreq" -o "$OUT" --yes
done

# ---- 3. extra members: paths, links, special files, long and hostile names ----------
RESP_EXTRA=(
	"../x:reg ../x -"
	"/abs:reg /etc/klic-abs -"
	"nested path:reg license/KRE_$MID.lic -"
	"./ prefix on a listed name:reg ./manifest.json -"
	"unknown regular file:reg extra.txt -"
	"symlink with a license name:symlink $FREE /etc/passwd"
	"symlink out of the folder:symlink link ../../../../etc/passwd"
	"hardlink with a license name:hardlink $FREE manifest.json"
	"hardlink to an absolute path:hardlink x /etc/passwd"
	"directory:dir $FREE -"
	"fifo:fifo $FREE -"
	"character device:chr $FREE -"
	"block device:blk dev -"
	"name with a newline and a terminal escape:reg $(printf 'x\n\033[2Jklic: all good') -"
)
RX_NAME='not allowed|not a regular file|link|member'
for spec in "${RESP_EXTRA[@]}"; do
	what=${spec%%:*}; read -r t n l <<<"${spec#*:}"
	[ "$what" = "name with a newline and a terminal escape" ] && n=$(printf 'x\n\033[2Jklic: all good')
	mut u.kresp "r-extra.kresp" add "$t" "$n" "$l" || { bad "kresp: extra $what: mutate failed"; continue; }
	f="r-extra-${what// /_}.kresp"; f=${f//\//_}; mv r-extra.kresp "$f"
	refused "kresp: extra member, $what" "$RX_NAME" "$f" usr "$U" install "$f"
	mut u-adm.kreq q-extra.kreq add "$t" "$n" "$l"
	f="q-extra-${what// /_}.kreq"; f=${f//\//_}; mv q-extra.kreq "$f"
	refused "kreq: extra member, $what" "$RX_NAME" "$f" adm "$A" issue "$f" -o "$OUT" --yes
done
mut u.kresp r-longname.kresp longname 5000
RX_NAME+='|pax extended header'  # a long name needs a pax record: refused as such (3.2)
refused "kresp: extra member with a 5000-character name" "$RX_NAME" r-longname.kresp usr "$U" install r-longname.kresp
mut u-adm.kreq q-longname.kreq longname 5000
refused "kreq: extra member with a 5000-character name" "$RX_NAME" q-longname.kreq adm "$A" issue q-longname.kreq -o "$OUT" --yes
# names the other kind of bundle allows
cp good.lic extra.lic
mut u.kresp r-unlisted.kresp set "$FREE" extra.lic
refused "kresp: an extra, unlisted license (a valid one)" 'do not match|unlisted|listed' r-unlisted.kresp usr "$U" install r-unlisted.kresp
mut u.kresp r-reqkey.kresp set requester.pgp extra.lic
refused "kresp: a request's member (requester.pgp)" "$RX_NAME" r-reqkey.kresp usr "$U" install r-reqkey.kresp
mut u-adm.kreq q-lic.kreq set "KRE_$MID.lic" extra.lic
refused "kreq: a response's member (a license)" "$RX_NAME" q-lic.kreq adm "$A" issue q-lic.kreq -o "$OUT" --yes

# ---- 4. truncated, empty, garbage, other formats, wrong type -------------------------
RX_ARCH='gzip|tar|archive|truncated|corrupt|trailing|after the end'
# hostile_files SRC KIND: the same damage for a bundle of either kind
hostile_files() {
	local src=$1 k=$2 n; n=$(stat -c %s "$src")
	head -c 10 "$src" >"t10.$k"; head -c $((n / 2)) "$src" >"thalf.$k"; head -c $((n - 1)) "$src" >"tlast.$k"
	: >"empty.$k"
	head -c 3000 /dev/urandom >"garbage.$k"
	{ printf '\037\213\010\000\000\000\000\000\000\377'; head -c 3000 /dev/urandom; } >"gzgarbage.$k"
	rm -rf x && mkdir x && tar xzf "$src" -C x
	(cd x && tar --format=ustar -cf "../plain.$k" $(tar tzf "../$src"))
	python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "w:xz", format=tarfile.USTAR_FORMAT) as t:
    for m in sys.argv[3:]: t.add(sys.argv[2] + "/" + m, arcname=m)' "xz.$k" x $(tar tzf "$src")
	gzip -9nc x/manifest.json >"gznotar.$k"
	mut "$src" "noeoa.$k" no-eoa
	mut "$src" "gztrail.$k" gz-garbage
	mut "$src" "gzsecond.$k" gz-second
	mut "$src" "targarbage.$k" tar-garbage
}
hostile_files u.kresp kresp
hostile_files u-adm.kreq kreq
DAMAGE=(
	"t10:truncated to 10 bytes:$RX_ARCH"
	"thalf:truncated to half:$RX_ARCH"
	"tlast:last byte cut (gzip trailer):$RX_ARCH"
	"empty:empty file:$RX_ARCH"
	"garbage:3000 random bytes:$RX_ARCH"
	"gzgarbage:gzip magic then random bytes:$RX_ARCH"
	"plain:uncompressed tar:$RX_ARCH"
	"xz:xz-compressed tar:$RX_ARCH"
	"gznotar:gzip of a non-tar file:$RX_ARCH"
	"noeoa:no tar end-of-archive marker:$RX_ARCH"
	"gztrail:garbage after the gzip stream:$RX_ARCH"
	"gzsecond:a second gzip member:$RX_ARCH"
	"targarbage:a non-zero block after the end-of-archive marker:$RX_ARCH"
)
for d in "${DAMAGE[@]}"; do
	IFS=: read -r f what rx <<<"$d"
	refused "kresp: $what" "$rx" "$f.kresp" usr "$U" install "$f.kresp"
	refused "kreq: $what" "$rx" "$f.kreq" adm "$A" issue "$f.kreq" -o "$OUT" --yes
done
# a file of the wrong kind: the one "wrong document type" line (spec 3.2, 3.5),
# binary or armored, whatever the command (the readers decide, not the tools)
wt() { echo "^klic(-admin)?: .*: wrong document type: this is $1, not $2\$"; }
Q='a request \(\.kreq\)' R='a response \(\.kresp\)' LIC='a license \(\.lic\)'
cp "$BOX/vendor.asc" vendor-copy.asc
refused "install: a .kreq given as a response" "$(wt "$Q" "$R")" u-adm.kreq usr "$U" install u-adm.kreq
refused "install: a .lic given as a response" "$(wt "$LIC" "$R")" good.lic usr "$U" install good.lic
refused "install: a public key given as a response" "$(wt 'an OpenPGP public key' "$R")" a.asc usr "$U" install a.asc
refused "issue: a .kresp given as a request" "$(wt "$R" "$Q")" u.kresp adm "$A" issue u.kresp -o "$OUT" --yes
refused "issue: a denial .kresp (no licenses) given as a request" "$(wt "$R" "$Q")" u-kse.kresp adm "$A" issue u-kse.kresp -o "$OUT" --yes
refused "issue: a .lic given as a request" "$(wt "$LIC" "$Q")" good.lic adm "$A" issue good.lic -o "$OUT" --yes
refused "member add: a .kresp given as a request" "$(wt "$R" "$Q")" u.kresp adm "$A" member add --yes --from-request u.kresp
refused "verify: a .kresp given as a license" "$(wt 'a bundle \(\.kreq or \.kresp, gzip\)' "$LIC")" u.kresp usr "$U" verify --vendor "$BOX/vendor.asc" u.kresp
refused "verify: a .kreq given as a license" "$(wt 'a bundle \(\.kreq or \.kresp, gzip\)' "$LIC")" u.kreq usr "$U" verify --vendor "$BOX/vendor.asc" u.kreq
clone "$U" "$BOX/u-arm" # the armored request's pending record stays out of ada's home
usr "$BOX/u-arm" request --product KRE --armor -o u-arm.kreq.txt >/dev/null 2>&1 || die "armored request"
refused "verify: an armored .kreq given as a license" "$(wt 'an armored request \(\.kreq\)' "$LIC")" u-arm.kreq.txt usr "$U" verify --vendor "$BOX/vendor.asc" u-arm.kreq.txt

# spec 3.3 (item 17): a request's signature and key are binary OpenPGP; the
# same bytes armored (a valid signature, a valid key) are refused
rm -rf am && mkdir am && tar xzf u-adm.kreq -C am
gpg --batch --yes --enarmor -o am/sig.asc am/manifest.sig 2>/dev/null && gpg --batch --yes --enarmor -o am/key.asc am/requester.pgp 2>/dev/null ||
	die "gpg --enarmor"
mut u-adm.kreq q-armsig.kreq set manifest.sig am/sig.asc
refused "kreq: manifest.sig ASCII-armored" \
	"klic-admin: q-armsig.kreq: no signature: manifest.sig is ASCII-armored: a request carries a binary OpenPGP signature\$" q-armsig.kreq adm "$A" issue q-armsig.kreq -o "$OUT" --yes
mut u-adm.kreq q-armkey.kreq set requester.pgp am/key.asc
refused "kreq: requester.pgp ASCII-armored" \
	"klic-admin: q-armkey.kreq: unusable key: requester.pgp is ASCII-armored: a request carries a binary OpenPGP public key\$" q-armkey.kreq adm "$A" member add --yes --from-request q-armkey.kreq

# ---- 4b. tar dialects klic does not write (spec 3.2): each built byte by byte
# by dialect.py; "ustar" (the klic dialect) is the control and must be accepted
python3 "$HERE/dialect.py" u.kresp d-ustar.kresp ustar || die "dialect.py"
cmp -s <(gzip -dc d-ustar.kresp) <(gzip -dc u.kresp) || die "dialect.py ustar is not the klic tar"
clone "$U" "$BOX/u-dctl"
usr "$BOX/u-dctl" install d-ustar.kresp >/dev/null 2>&1 || die "control: the ustar rewrite does not install"
DIALECTS=(
	"gnu:GNU magic:GNU tar header at offset 0"
	"v7:v7 headers:pre-POSIX \(v7\) tar header at offset 0"
	"oldgnu-ver:ustar magic, version NUL NUL:is not POSIX ustar"
	"pax:a pax x record (path=):pax extended header at offset 0"
	"pax-rename:a pax x record renaming the last member:pax extended header at offset"
	"pax-global:a pax g record:pax global header at offset 0"
	"gnu-long:a GNU long name (L):GNU long name header at offset 0"
	"type7:typeflag 7:not a regular file: (KRE_.*|requester\\.pgp): a contiguous file \(typeflag 7\)"
	"typenul:typeflag NUL:not a regular file: (KRE_.*|requester\\.pgp): a pre-POSIX regular file"
	"prefix:the ustar prefix field:the ustar prefix field is used"
	"base256:a base-256 size field:size field is not octal"
	"one-zero:one zero block at the end:one zero block at offset [0-9]+: the end-of-archive marker is two"
	"no-zero:no zero block at the end:no end-of-archive marker"
)
for d in "${DIALECTS[@]}"; do
	IFS=: read -r f what rx <<<"$d"
	python3 "$HERE/dialect.py" u.kresp "d-$f.kresp" "$f" || { bad "dialect $f: dialect.py failed"; continue; }
	python3 "$HERE/dialect.py" u-adm.kreq "d-$f.kreq" "$f" || { bad "dialect $f: dialect.py failed"; continue; }
	refused "kresp: tar dialect, $what" "$rx" "d-$f.kresp" usr "$U" install "d-$f.kresp"
	refused "kreq: tar dialect, $what" "$rx" "d-$f.kreq" adm "$A" issue "d-$f.kreq" -o "$OUT" --yes
done

# ---- 5. bombs and caps: bounded time and memory ------------------------------------------
RX_CAP='too large|too many|decompressed'
# (a bomb is refused before any other member matters: one file serves both kinds)
mut - r-bomb200.kresp bomb manifest.json 200; cp r-bomb200.kresp q-bomb200.kreq
mut - r-bomb300.kresp bomb manifest.json 300; cp r-bomb300.kresp q-bomb300.kreq
mut u.kresp r-zerotail.kresp zero-tail 200
mut u-adm.kreq q-zerotail.kreq zero-tail 200
mut - many-same.kresp many 100000 same; cp many-same.kresp many-same.kreq
mut - many-distinct.kresp many 100000 distinct; cp many-distinct.kresp many-distinct.kreq
mut - r-count.kresp licenses "$MID" 68
head -c 30000 /dev/zero | tr '\0' ' ' >big-manifest
mut u.kresp r-bigman.kresp set manifest.json big-manifest
mut u-adm.kreq q-bigman.kreq set manifest.json big-manifest
head -c 300000 /dev/urandom >random300k
mut u.kresp r-bigfile.kresp set "$FREE" random300k
mut u-adm.kreq q-bigfile.kreq set requester.pgp random300k
echo "# bomb sizes: $(stat -c '%n %s' r-bomb200.kresp r-zerotail.kresp many-same.kresp many-distinct.kresp | tr '\n' ' ')"
BOMBS=(
	"bomb200:manifest.json of 200 MiB of zeros (zero bomb under the file cap)"
	"bomb300:manifest.json of 300 MiB of zeros (over the file cap)"
	"zerotail:200 MiB of zeros after the end-of-archive marker"
	"bigman:manifest.json of 30 KB (over its 24 KiB cap)"
	"bigfile:a 300 KB member (file over 256 KiB)"
)
for b in "${BOMBS[@]}"; do
	f=${b%%:*} what=${b#*:}
	BOUND=1 refused "kresp: $what" "$RX_CAP" "r-$f.kresp" "$KLIC" --home "$U" install "r-$f.kresp"
	BOUND=1 refused "kreq: $what" "$RX_CAP" "q-$f.kreq" "$ADMIN" --state "$A" issue "q-$f.kreq" -o "$OUT" --yes
done
for k in same distinct; do
	BOUND=1 refused "kresp: 100000 members ($k names)" "$RX_CAP|$RX_NAME|duplicate" "many-$k.kresp" "$KLIC" --home "$U" install "many-$k.kresp"
	BOUND=1 refused "kreq: 100000 members ($k names)" "$RX_CAP|$RX_NAME|duplicate" "many-$k.kreq" "$ADMIN" --state "$A" issue "many-$k.kreq" -o "$OUT" --yes
done
BOUND=1 refused "kresp: 68 members, every name allowed" 'too many' r-count.kresp "$KLIC" --home "$U" install r-count.kresp

# ---- 6. signatures: wrong role, other organization, transplanted, opaque, multiple ----
fpr_in() { gpg --homedir "$1" --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'; }
# resign KIND SRC OUT GNUPGHOME: SRC with its signatures made again by
# GNUPGHOME's key, everything else consistent (resign.py), repacked by mutate
resign() {
	local kind=$1 src=$2 out=$3 home=$4 d="$CAP/rs" m ops=()
	rm -rf "$d"; mkdir -p "$d"; tar xzf "$src" -C "$d"
	python3 "$HERE/resign.py" "$kind" "$d" "$home" "$AFPR" "$(fpr_in "$home")" || return 1
	for m in $(tar tzf "$src"); do ops+=(set "$m" "$d/$m"); done
	mut "$src" "$out" "${ops[@]}"
}
# sig_like SRC: gpg options giving a manifest.sig in the form SRC's has
sig_like() { if grep -q -- '-----' <<<"$(tar xzOf "$1" manifest.sig | head -c 10)"; then echo "--armor --textmode"; fi; }
gsign() { local home=$1; shift; gpg --homedir "$home" --batch --yes --quiet --pinentry-mode loopback --passphrase '' "$@"; }
RX_SIG='signature|key'
UG="$U/klic/gnupg"; VG="$V/klic/gnupg"; EG="$E/klic/gnupg"
resign response u.kresp r-by-user.kresp "$UG" || bad "resign by user"
refused "kresp: validly re-signed by the user's own key (user key on a response)" "$RX_SIG" r-by-user.kresp usr "$U" install r-by-user.kresp
resign response u.kresp r-by-orgb.kresp "$B/gnupg" || bad "resign by B"
refused "kresp: validly re-signed by another organization's issuer key" "$RX_SIG" r-by-orgb.kresp usr "$U" install r-by-orgb.kresp
resign response u.kresp r-by-bob.kresp "$VG" || bad "resign by bob"
refused "kresp: validly re-signed by another member's key" "$RX_SIG" r-by-bob.kresp usr "$U" install r-by-bob.kresp
refused "kresp: a genuine response from another organization's admin" "$RX_SIG" b-u.kresp usr "$U" install b-u.kresp
tar xzOf v.kresp manifest.sig >v.sig
mut u.kresp r-sig-transplant.kresp set manifest.sig v.sig
refused "kresp: the issuer's signature from another response" "$RX_SIG" r-sig-transplant.kresp usr "$U" install r-sig-transplant.kresp
tar xzOf u.kresp manifest.json >u-resp.json
gsign "$A/gnupg" $(sig_like u.kresp) --sign -o opaque.sig u-resp.json
mut u.kresp r-sig-opaque.kresp set manifest.sig opaque.sig
refused "kresp: an opaque signed message by the pinned issuer as manifest.sig" "$RX_SIG" r-sig-opaque.kresp usr "$U" install r-sig-opaque.kresp
# a keyring holding the issuer's and eve's secret keys: one block, two signatures
MG="$BOX/gnupg-multi"; mkdir -m 700 "$MG"
gsign "$A/gnupg" --export-secret-keys | gsign "$MG" --import 2>/dev/null
gsign "$EG" --export-secret-keys | gsign "$MG" --import 2>/dev/null
EFPR=$(fpr_in "$EG")
gsign "$MG" $(sig_like u.kresp) -u "$AFPR" -u "$EFPR" --detach-sign -o two.sig u-resp.json
mut u.kresp r-sig-two.kresp set manifest.sig two.sig
refused "kresp: two signatures, one by the pinned issuer" "$RX_SIG|more than one" r-sig-two.kresp usr "$U" install r-sig-two.kresp

resign request u-adm.kreq q-by-issuer.kreq "$A/gnupg" || bad "resign request by issuer"
refused "kreq: a member's request re-signed by the issuer key (response key on a request)" "$RX_SIG|member" q-by-issuer.kreq adm "$A" issue q-by-issuer.kreq -o "$OUT" --yes
resign request u-adm.kreq q-by-stranger.kreq "$EG" || bad "resign request by eve"
refused "kreq: a member's request re-signed by a stranger" "$RX_SIG|member" q-by-stranger.kreq adm "$A" issue q-by-stranger.kreq -o "$OUT" --yes
resign request u-adm.kreq q-by-bob.kreq "$VG" || bad "resign request by bob"
refused "kreq: a member's request re-signed by another member" "$RX_SIG|member" q-by-bob.kreq adm "$A" issue q-by-bob.kreq -o "$OUT" --yes
resign request u-adm.kreq q-by-orgb.kreq "$B/gnupg" || bad "resign request by B"
refused "kreq: a member's request re-signed by another organization's issuer" "$RX_SIG|member" q-by-orgb.kreq adm "$A" issue q-by-orgb.kreq -o "$OUT" --yes
tar xzOf v.kreq manifest.sig >vq.sig
mut u-adm.kreq q-sig-transplant.kreq set manifest.sig vq.sig
refused "kreq: another member's request signature transplanted" "$RX_SIG|member" q-sig-transplant.kreq adm "$A" issue q-sig-transplant.kreq -o "$OUT" --yes
tar xzOf u-adm.kreq manifest.json >u-req.json
gsign "$MG" -u "$AFPR" -u "$EFPR" --detach-sign -o two-q.sig u-req.json
mut u-adm.kreq q-sig-two.kreq set manifest.sig two-q.sig
refused "kreq: two signatures (issuer and stranger)" "$RX_SIG|more than one|member" q-sig-two.kreq adm "$A" issue q-sig-two.kreq -o "$OUT" --yes
refused "member add: a member's request re-signed by a stranger" "$RX_SIG|member" q-by-stranger.kreq adm "$A" member add --yes --from-request q-by-stranger.kreq
refused "member add: the issuer's own public key" 'issuer|member|key' a.asc adm "$A" member add --yes a.asc
refused "member add: a request with its key flipped" "$RX_ANY" q-flip-middle-requester.pgp.kreq adm "$A" member add --yes --from-request q-flip-middle-requester.pgp.kreq

# ---- 7. binding: another user, another organization, installed, older, denied ----------
refused "kresp: the response to another user's request (same machine)" 'pending' v.kresp usr "$U" install v.kresp
refused "kresp: ada's response installed in bob's home" 'pending' u.kresp usr "$V" install u.kresp
refused "kresp: a second genuine response (restored admin backup) for an installed request" "$RX_ANY" u-inst-bak.kresp usr "$U" install u-inst-bak.kresp
unchanged "kresp: the installed response installed again" usr "$U" install u-inst.kresp
refused "kresp: an older license would replace a newer one" 'older' u-old.kresp usr "$UOLD" install u-old.kresp
refused "kresp: a signed denial" 'denied' u-kse.kresp usr "$U" install u-kse.kresp
mut u-kse.kresp r-denied-plus.kresp set "$LICNAME" good.lic
refused "kresp: a signed denial with a valid license added" "$RX_ANY" r-denied-plus.kresp usr "$U" install r-denied-plus.kresp
tar xzOf v.kresp "$(tar tzf v.kresp | grep '\.lic$' | head -n 1)" >bob.lic
mut u.kresp r-bobs-lic.kresp set "$LIC1" bob.lic
refused "kresp: bob's valid license swapped in" "$RX_ANY" r-bobs-lic.kresp usr "$U" install r-bobs-lic.kresp
if can_unshare && unshare -m --propagation private bash -c 'mount --bind /dev/null /etc/machine-id' 2>/dev/null; then
	echo 0123456789abcdef0123456789abcdef >"$BOX/other-id"
	on_machine "$BOX/other-id" "$KLIC" --home "$U" request --product KRE -o u-other.kreq >/dev/null &&
		adm "$A" issue u-other.kreq -o . --yes >/dev/null || bad "fixture: request on another machine"
	refused "kresp: installed on another machine" 'machine' u.kresp on_machine "$BOX/other-id" "$KLIC" --home "$U" install u.kresp
	refused "kresp: the response to a request made on another machine" 'machine' u-other.kresp usr "$U" install u-other.kresp
	refused "lic: verified on another machine" 'machine' "$GOOD" on_machine "$BOX/other-id" "$KLIC" --home "$U" verify --vendor "$BOX/vendor.asc" "$GOOD"
else
	skip "3 other-machine cases: needs root, unshare -m and mount --bind (NOT RUN)"
fi

# ---- 8. license files: unsigned text around the signed part, edits --------------------
# the control: stock gpg and klic verify both accept the genuine license
if gpg --homedir "$BOX/gnupg-verify-a" --batch --quiet --verify "$GOOD" 2>"$CAP/gpg" &&
	usr "$U" verify --vendor "$BOX/vendor.asc" "$GOOD" >"$CAP/out" 2>&1; then
	ok "lic: control: the genuine license verifies with stock gpg and with klic verify"
else
	bad "lic: control: stock gpg or klic verify refuses the genuine license: $(cat "$CAP/gpg" "$CAP/out" | tr '\n' '|')"
fi
python3 - good.lic <<'PY'
import re, sys
t = open(sys.argv[1], "rb").read()
head, rest = t.split(b"\n\n", 1)
body, sig = rest.split(b"\n-----BEGIN PGP SIGNATURE-----\n", 1)
sig = b"-----BEGIN PGP SIGNATURE-----\n" + sig
later = re.sub(rb'("expires": ")(\d{4})', lambda m: m.group(1) + str(int(m.group(2)) + 5).encode(), body, count=1)
def w(name, data):
    assert data != t, name + " would not change the license"
    open(name, "wb").write(data)
lines = body.split(b"\n")
def body_with(i, line):
    return b"\n".join(lines[:i] + [line] + lines[i + 1:])
w("l-prefix.lic", later + b"\n" + t)                 # an unsigned, later-expiring body first
w("l-suffix.lic", t + later + b"\n")                 # and after
w("l-text-suffix.lic", t + b"unsigned trailer\n")
w("l-armor-header.lic", head + b"\nComment: unsigned\n\n" + rest)
w("l-sig-header.lic", head + b"\n\n" + body + b"\n" + sig.replace(b"-----\n\n", b"-----\nVersion: evil\n\n", 1))
w("l-twice.lic", t + t)
w("l-edited-expiry.lic", head + b"\n\n" + later + b"\n" + sig)
w("l-edited-product.lic", t.replace(b'"product": "KRE"', b'"product": "KSE"'))
w("l-crlf.lic", t.replace(b"\n", b"\r\n"))
# stock gpg strips trailing blanks and "- " before checking: both still verify there
w("l-trailing-space.lic", head + b"\n\n" + body_with(1, lines[1] + b"  ") + b"\n" + sig)
w("l-dash-escaped.lic", head + b"\n\n" + body_with(1, b"- " + lines[1]) + b"\n" + sig)
other = b"SHA256" if b"Hash: SHA384" in head else b"SHA384"
w("l-hash-header.lic", re.sub(rb"Hash: SHA\d+", b"Hash: " + other, t, count=1))
w("l-no-signature.lic", head + b"\n\n" + body + b"\n")
PY
tar xzOf v.kresp "$(tar tzf v.kresp | grep '\.lic$' | head -n 1)" >l-bob.lic
python3 - good.lic l-bob.lic <<'PY'
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
sep = b"\n-----BEGIN PGP SIGNATURE-----\n"
open("l-sig-swapped.lic", "wb").write(a.split(sep, 1)[0] + sep + b.split(sep, 1)[1])
PY
# re-clear-signed with an edited expiry by the wrong keys (user's own, other org)
for who in user orgb; do
	h=$UG; [ $who = orgb ] && h="$B/gnupg"
	python3 -c '
import sys
t = open(sys.argv[1], "rb").read().split(b"\n\n", 1)[1].split(b"\n-----BEGIN PGP SIGNATURE-----\n", 1)[0]
sys.stdout.buffer.write(t.replace(b"\"expires\": \"20", b"\"expires\": \"21", 1))' l-edited-expiry.lic |
		gsign "$h" --digest-algo SHA512 --clearsign >"l-resigned-$who.lic"
done
LICS=(
	"prefix:an unsigned later-expiring body before the signed message"
	"suffix:an unsigned later-expiring body after the signature"
	"text-suffix:unsigned text after the signature"
	"armor-header:an armor header (Comment:) in the signed-message block"
	"sig-header:an armor header (Version:) in the signature block"
	"twice:two signed messages in one file"
	"edited-expiry:edited expiry, signature kept"
	"edited-product:edited product, signature kept"
	"crlf:CRLF line ends"
	"trailing-space:trailing spaces on a body line (stock gpg ignores them)"
	"dash-escaped:a dash-escaped body line (stock gpg unescapes it)"
	"hash-header:Hash: header changed"
	"no-signature:no signature block"
	"sig-swapped:signature block of bob's license"
	"truncated:truncated to half"
	"empty:empty file"
	"garbage:700 random bytes"
	"resigned-user:edited and clear-signed again by the user's own key"
	"resigned-orgb:edited and clear-signed again by another organization's issuer"
)
RX_LIC='license|signature|key|format|malformed|JSON'
# every part of a license (armor header block, signed body, signature
# block): flipped at start/middle/end, dropped, duplicated with other bytes
python3 - good.lic <<'PY'
import sys
t = open(sys.argv[1], "rb").read()
head, rest = t.split(b"\n\n", 1)
body, sig = rest.split(b"\n-----BEGIN PGP SIGNATURE-----\n", 1)
parts = {"header": head + b"\n\n", "body": body + b"\n",
         "signature": b"-----BEGIN PGP SIGNATURE-----\n" + sig}
assert b"".join(parts.values()) == t
def flip(b, off):
    return b[:off] + bytes([b[off] ^ 1]) + b[off + 1:]
for name, part in parts.items():
    for pos, off in (("start", 0), ("middle", len(part) // 2), ("end", len(part) - 1)):
        out = b"".join(flip(p, off) if n == name else p for n, p in parts.items())
        open("lp-flip-%s-%s.lic" % (pos, name), "wb").write(out)
    open("lp-drop-%s.lic" % name, "wb").write(b"".join(p for n, p in parts.items() if n != name))
    open("lp-dup-%s.lic" % name, "wb").write(b"".join(
        p + flip(p, len(p) // 2) if n == name else p for n, p in parts.items()))
PY
for f in lp-*.lic; do mkdir -p "lv/${f%.lic}" && cp "$f" "lv/${f%.lic}/$LICNAME"; done
for part in header body signature; do
	for op in flip-start flip-middle flip-end drop dup; do
		case $op in
		flip-*) label="flipped at ${op#flip-}" ;;
		drop) label=dropped ;;
		dup) label="duplicated with other bytes" ;;
		esac
		f="lv/lp-$op-$part/$LICNAME"
		refused "lic: $part $label" "$RX_LIC" "$f" usr "$U" verify --vendor "$BOX/vendor.asc" "$f"
	done
done
head -c $(($(stat -c %s good.lic) / 2)) good.lic >l-truncated.lic
: >l-empty.lic
head -c 700 /dev/urandom >l-garbage.lic
for f in l-*.lic; do mkdir -p "lv/${f%.lic}" && cp "$f" "lv/${f%.lic}/$LICNAME"; done
for l in "${LICS[@]}"; do
	f=${l%%:*} what=${l#*:}
	refused "lic: $what" "$RX_LIC" "lv/l-$f/$LICNAME" usr "$U" verify --vendor "$BOX/vendor.asc" "lv/l-$f/$LICNAME"
done
for f in prefix suffix edited-expiry trailing-space; do
	mut u.kresp "r-lic-$f.kresp" set "$LIC1" "l-$f.lic"
	refused "kresp: license with $f inside the response" "$RX_ANY" "r-lic-$f.kresp" usr "$U" install "r-lic-$f.kresp"
done

# one seat, two files: a license under a name its signed bytes do not give it
lic2=$(tar tzf u.kresp | grep '\.lic$' | tail -n 1)
tar xzOf u.kresp "$lic2" >seat-last.lic
mut u.kresp r-renamed.kresp drop "$lic2" set "$FREE" seat-last.lic
refused "kresp: a license member renamed to an unlisted seat name" "$RX_ANY" r-renamed.kresp usr "$U" install r-renamed.kresp
# Only responses of the one-signature format (PROTOCOL-CHANGE.md: the signed
# bytes list each license's file name) bind a license to its file name; v1
# licenses carry no name, so these cases need that format.
if grep -q '"type": "klic-response"' good.lic; then
	mkdir -p copied && cp good.lic "copied/KRE_${MID}_7.lic"
	refused "lic: a valid license copied under another seat's file name" "$RX_LIC|name|seat|listed" "copied/KRE_${MID}_7.lic" usr "$U" verify --vendor "$BOX/vendor.asc" "copied/KRE_${MID}_7.lic"
	cp good.lic "copied/KSE_${MID}.lic"
	refused "lic: a valid KRE license copied under a KSE file name" "$RX_LIC|name|seat|listed|product" "copied/KSE_${MID}.lic" usr "$U" verify --vendor "$BOX/vendor.asc" "copied/KSE_${MID}.lic"
else
	skip "2 license file name cases: v1 licenses do not sign their file name (NOT RUN)"
fi

# ---- 9. clock set back -------------------------------------------------------------------
if command -v faketime >/dev/null && faketime -f -2d "$KLIC" --version >/dev/null 2>&1; then
	refused "kresp: installed with the clock set back 2 days" 'clock' u.kresp faketime -f -2d "$KLIC" --home "$U" install u.kresp
	refused "lic: verified with the clock set back 2 days" 'clock' "$GOOD" faketime -f -2d "$KLIC" --home "$U" verify --vendor "$BOX/vendor.asc" "$GOOD"
else
	skip "2 clock cases: faketime cannot run klic here (NOT RUN)"
fi

# ---- 10. requests from non-members: a signed denial, nothing spent ----------------------
denial "kreq: a genuine request from a non-member (eve)" "$A" e.kreq
denial "kreq: a member of org A asking org B, where he is no member" "$B" v-b.kreq
# the issuer's own key asking for itself, everything consistent (spec 5.3 step 5)
rm -rf iq && mkdir iq && tar xzf u-adm.kreq -C iq
gpg --homedir "$A/gnupg" --batch --export-options export-minimal --export "$AFPR" >iq/requester.pgp
python3 - iq "$AFPR" <<'PY'
import hashlib, json, sys
d, fpr = sys.argv[1:3]
m = json.load(open(d + "/manifest.json"))
m["requester_fpr"] = fpr
m["requester_key_sha256"] = hashlib.sha256(open(d + "/requester.pgp", "rb").read()).hexdigest()
open(d + "/manifest.json", "w").write(json.dumps(m, sort_keys=True, separators=(",", ":")) + "\n")
PY
gsign "$A/gnupg" --detach-sign -o iq/manifest.sig iq/manifest.json
mut u-adm.kreq q-issuer-self.kreq set manifest.json iq/manifest.json set manifest.sig iq/manifest.sig set requester.pgp iq/requester.pgp
denial "kreq: the issuer key asking for itself" "$A" q-issuer-self.kreq

# ---- 11. text from the file in the error line ---------------------------------------------
printf '{"type":"klic-request\033]0;owned\007\nklic-admin: OK all issued","version":1}\n' >inject-raw.json
printf '{"hostname":"\\u001b[2J\\nklic-admin: OK","type":"klic-request","version":1}\n' >inject-esc.json
printf '\033[31m{}\n' >inject-lead.json                                # ESC as the first byte
printf '{"\342\200\256txt.exe\033":1}\n' >inject-bidi.json             # U+202E (bidi override) in a key
for j in raw esc lead bidi; do
	mut u-adm.kreq "q-inject-$j.kreq" set manifest.json "inject-$j.json"
	refused "kreq: control characters ($j) in the manifest" "$RX_ANY" "q-inject-$j.kreq" adm "$A" issue "q-inject-$j.kreq" -o "$OUT" --yes
	mut u.kresp "r-inject-$j.kresp" set manifest.json "inject-$j.json"
	refused "kresp: control characters ($j) in the manifest" "$RX_ANY" "r-inject-$j.kresp" usr "$U" install "r-inject-$j.kresp"
done
refused "member add: control characters (lead) in the manifest" "$RX_ANY" q-inject-lead.kreq adm "$A" member add --yes --from-request q-inject-lead.kreq

trap - ERR
if [ "$N_FAIL" -eq 0 ]; then
	echo "$N_CASES cases, all refused cleanly ($N_SKIP groups skipped)"
else
	echo "$N_CASES cases, $N_FAIL FAILED ($N_SKIP groups skipped)"
	exit 1
fi
