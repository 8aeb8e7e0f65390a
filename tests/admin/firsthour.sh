#!/usr/bin/env bash
# Issue 18, the admin side of a newcomer's first hour: issue into a folder
# that cannot be written (nothing spent), a denial decided afresh once the
# situation changed, -o FILE.kresp, issue DIR, "is a folder", the unknown
# option named (and the global-option hint), the not-member hint for the
# admin, names, --member/--product as people type them, the prompt's names
# and audit verify catching an edited entitlement.
# usage: firsthour.sh KLIC_ADMIN MKREQ [KLIC|none] [FAULT_SHIM]
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
SHIM=${4:-}

t_org_setup "$A" "Lab" 1
mkuser ada; mkuser eve
ADA=$(fpr_of ada)
req ada ada0.kreq --product KRE --seats 1
admin member add --yes --from-request ada0.kreq >/dev/null
state() { printf '%s\n%s\n' "$(ledger .dump)" "$(tree_sum "$BOX/out")"; }

# ---- item 1: an output folder that cannot be written: nothing is spent ----------------
# as root, permissions do not stop a write: a read-only bind mount does
ro_run() {
	local d=$1; shift
	if [ "$(id -u)" -ne 0 ]; then
		chmod 555 "$d"; local rc=0; "$@" || rc=$?; chmod 755 "$d"; return $rc
	fi
	unshare -m --propagation private bash -c 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "${@}"' "$d" "$@"
}
mkdir -p "$BOX/out"
req ada one.kreq --product KRE --seats 1
if [ "$(id -u)" -ne 0 ] || can_unshare; then
	before=$(state); rc=0
	ro_run "$BOX/out" "$ADMIN" --state "$A" issue one.kreq -o "$BOX/out" --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
	want="klic-admin: issue: input/output error: $BOX/out: the responses cannot be written in this folder"
	if [ "$rc" = 3 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -qF "$want" "$BOX/e" && grep -q "nothing was issued or recorded" "$BOX/e" &&
		[ "$before" = "$(state)" ] && [ "$(nlic)" = 0 ]; then
		pass "issue one.kreq -o RO-FOLDER: exit 3, ledger and folder unchanged: $(cat "$BOX/e")"
	else fail "issue into a read-only folder: rc=$rc $(cat "$BOX/o" "$BOX/e")"; fi
else
	echo "# skipped: cannot make a folder unwritable for root here"
fi
# the response's own name is a folder: refused before anything is recorded
mkdir -p "$BOX/out/one.kresp"
before=$(state); rc=0
admin issue one.kreq -o "$BOX/out" --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -qF "klic-admin: one.kreq: already exists: $BOX/out/one.kresp: is a folder, not a file" "$BOX/e" &&
	grep -q "nothing was recorded" "$BOX/e" && [ "$before" = "$(state)" ] &&
	pass "issue when OUT/one.kresp is a folder: exit 1, ledger unchanged: $(cat "$BOX/e")" ||
	fail "out path is a folder: rc=$rc $(cat "$BOX/o" "$BOX/e")"
rmdir "$BOX/out/one.kresp"
# the final write fails after the commit (fault shim: the rename fails):
# the line says the answer is recorded, and issuing again writes it
if [ -n "$SHIM" ] && [ -f "$SHIM" ]; then
	rc=0
	KLIC_FAULT=rename:1:ENOSPC KLIC_FAULT_PREFIX="$BOX/out" LD_PRELOAD="$SHIM" ASAN_OPTIONS=verify_asan_link_order=0 \
		"$ADMIN" --state "$A" issue one.kreq -o "$BOX/out" --yes --jobs 1 >"$BOX/o" 2>"$BOX/e" || rc=$?
	[ "$rc" = 3 ] && grep -q "the answer is recorded in the ledger: run issue again on the same request to write it (nothing more is spent)" "$BOX/e" &&
		[ "$(nlic)" = 1 ] && [ ! -e "$BOX/out/one.kresp" ] &&
		pass "write failed after the commit: exit 3 and $(cat "$BOX/e")" || fail "final write failure: rc=$rc $(cat "$BOX/o" "$BOX/e")"
	admin issue one.kreq -o "$BOX/out" --yes >"$BOX/o" 2>"$BOX/e"
	grep -q "^OK   one.kreq -> $BOX/out/one.kresp: re-issued 1 KRE" "$BOX/o" && [ -s "$BOX/out/one.kresp" ] && [ "$(nlic)" = 1 ] &&
		pass "issue again writes it, nothing more spent ($(nlic) license)" || fail "re-run after write failure: $(cat "$BOX/o" "$BOX/e")"
else
	admin issue one.kreq -o "$BOX/out" --yes >/dev/null
	echo "# skipped: no fault shim for the failed final write"
fi

# ---- item 2: a denial is decided afresh once the situation changed ------------------------
req ada two.kreq --product KRE --seats 2
admin issue two.kreq -o "$BOX/out" --yes >"$BOX/o"
grep -q "^DENY two.kreq -> $BOX/out/two.kresp: no-seats: " "$BOX/o" && pass "2 seats asked, none free: $(cat "$BOX/o" | head -1)" || fail "first denial: $(cat "$BOX/o")"
cp "$BOX/out/two.kresp" two.first
# nothing changed: the same denial, its stored response, nothing recorded but the re-issue
n0=$(nlic); rq0=$(ledger "SELECT status || ' ' || coalesce(reason_code, '') FROM requests WHERE seats = 2")
admin issue two.kreq -o "$BOX/out" --yes >"$BOX/o"
grep -q "^DENY two.kreq -> $BOX/out/two.kresp: re-issued denial no-seats" "$BOX/o" && cmp -s two.first "$BOX/out/two.kresp" &&
	[ "$(nlic)" = "$n0" ] && pass "nothing changed: the same denial again, same bytes" || fail "same denial: $(cat "$BOX/o")"
# the admin imports a bigger entitlement: the same request is now issued
t_entitle "$A" 3
before=$(ledger "SELECT digest || ' ' || status || ' ' || coalesce(reason_code, '') FROM requests ORDER BY digest")
admin issue two.kreq -o "$BOX/out" --yes >"$BOX/o"
after=$(ledger "SELECT digest || ' ' || status || ' ' || coalesce(reason_code, '') FROM requests ORDER BY digest")
grep -q "^OK   two.kreq -> $BOX/out/two.kresp: issued 2 KRE seat(s) to $ADA" "$BOX/o" && grep -q "issued: 1, denied: 0, re-issued: 0, errors: 0" "$BOX/o" &&
	pass "after seats were added, re-running the same request issues it: $(head -1 "$BOX/o")" || fail "re-decided: $(cat "$BOX/o")"
[ "$rq0" = "denied no-seats" ] && [ "$(nlic)" = $((n0 + 2)) ] &&
	[ "$(ledger "SELECT status FROM requests WHERE seats = 2")" = issued ] && [ "$(diff <(echo "$before") <(echo "$after") | grep -c '^[<>]')" = 2 ] &&
	pass "ledger: the denied row became issued, 2 licenses more ($n0 -> $(nlic))" || fail "ledger after re-decision: $before / $after"
ledger "SELECT event || ': ' || detail FROM audit WHERE event IN ('issued','denied') ORDER BY seq DESC LIMIT 1" | grep -q "^issued: 2 KRE seat(s) .* (decided again; denied before: no-seats)$" &&
	pass "the audit says it was decided again" || fail "audit: $(ledger 'SELECT event, detail FROM audit ORDER BY seq DESC LIMIT 2')"
admin issue two.kreq -o "$BOX/out" --yes >"$BOX/o"
grep -q "re-issued 2 KRE" "$BOX/o" && [ "$(nlic)" = $((n0 + 2)) ] && pass "an issued request is replayed, nothing spent" || fail "replay issued: $(cat "$BOX/o")"
admin audit verify >/dev/null && pass "audit verify after the re-decision" || fail "audit verify"

# ---- item 6: -o FILE.kresp with one request writes that file -------------------------------
t_entitle "$A" 4
req ada six.kreq --product KRE --seats 1
admin issue six.kreq -o "$BOX/six.kresp" --yes >"$BOX/o" 2>"$BOX/e"
[ -f "$BOX/six.kresp" ] && [ ! -d "$BOX/six.kresp" ] && grep -q "^OK   six.kreq -> $BOX/six.kresp: issued 1 KRE" "$BOX/o" &&
	[ "$(tar tzf "$BOX/six.kresp" | head -1)" = manifest.json ] &&
	pass "issue six.kreq -o six.kresp writes the file six.kresp" || fail "-o FILE.kresp: $(ls -la "$BOX/six.kresp") $(cat "$BOX/o" "$BOX/e")"
req ada six2.kreq --product KRE --seats 1
before=$(state); rc=0
admin issue six.kreq six2.kreq -o "$BOX/many.kresp" --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && [ ! -e "$BOX/many.kresp" ] && [ "$before" = "$(state)" ] &&
	grep -qF "klic-admin: issue: -o FILE.kresp names one response file, but there are 2 requests: give -o a folder: $BOX/many.kresp" "$BOX/e" &&
	pass "-o X.kresp with 2 requests: exit 2, nothing changed: $(cat "$BOX/e")" || fail "-o .kresp with 2: rc=$rc $(cat "$BOX/e")"
admin issue six2.kreq -o "$BOX/dir6" --yes >"$BOX/o"
[ -f "$BOX/dir6/six2.kresp" ] && pass "-o NAME (not .kresp) is still a folder" || fail "-o folder: $(cat "$BOX/o")"

# ---- item 8: issue DIR answers every .kreq in it; a folder elsewhere is "is a folder" ---------
mkdir -p "$BOX/stick"
req ada stick/a.kreq --product KRE --seats 1
req ada stick/b.kreq --product KSE --seats 1
echo "notes" > "$BOX/stick/README.txt"
cp "$BOX/six.kresp" "$BOX/stick/old.kresp"
rc=0; admin issue "$BOX/stick" -o "$BOX/stick" --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 0 ] && grep -q "^OK   $BOX/stick/a.kreq -> $BOX/stick/a.kresp: issued" "$BOX/o" &&
	grep -q "^DENY $BOX/stick/b.kreq -> $BOX/stick/b.kresp: no-entitlement" "$BOX/o" && grep -q "issued: 1, denied: 1, re-issued: 0, errors: 0" "$BOX/o" &&
	[ "$(grep -c '^\(OK\|DENY\|ERR\)' "$BOX/o")" = 2 ] &&
	pass "issue STICK answers a.kreq and b.kreq, README.txt and old.kresp left alone" || fail "issue DIR: rc=$rc $(cat "$BOX/o" "$BOX/e")"
mkdir -p "$BOX/empty"; echo x > "$BOX/empty/x.txt"
before=$(state); rc=0
admin issue "$BOX/empty" --yes >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -qF "klic-admin: issue: no NAME.kreq file in the folder: $BOX/empty" "$BOX/e" && [ "$before" = "$(state)" ] &&
	pass "issue DIR without requests: exit 2: $(cat "$BOX/e")" || fail "empty dir: rc=$rc $(cat "$BOX/e")"
folder() {
	local what=$1 line=$2; shift 2
	local rc=0 before
	before=$(state)
	"$@" >"$BOX/o" 2>"$BOX/e" || rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && [ "$(cat "$BOX/e")" = "$line" ] && [ "$before" = "$(state)" ]; then
		pass "$what: exit 2, nothing changed: $line"
	else fail "$what: rc=$rc $(cat "$BOX/e")"; fi
}
D="$BOX/empty"
folder "member add DIR" "klic-admin: $D: is a folder, not a file (member add expects FILE.asc)" admin member add --yes "$D"
folder "member add --from-request DIR" "klic-admin: $D: is a folder, not a file (member add expects --from-request FILE.kreq)" admin member add --yes --from-request "$D"
folder "entitlement import DIR" "klic-admin: $D: is a folder, not a file (entitlement import expects FILE.kent)" admin entitlement import "$D"
folder "vendor set DIR" "klic-admin: $D: is a folder, not a file (vendor set expects VENDOR.asc)" admin vendor set "$D"
folder "export-key -o DIR" "klic-admin: $D: is a folder, not a file (export-key expects -o FILE)" admin export-key -o "$D"
folder "usage export -o DIR" "klic-admin: $D: is a folder, not a file (usage export expects -o ORG.kusage)" admin usage export -o "$D"
folder "report --html DIR" "klic-admin: $D: is a folder, not a file (report expects --html FILE)" admin report --html "$D"
KV=$(t_vendor_bin)
folder "klic-vendor usage verify DIR" "klic-vendor: $D: is a folder, not a file (usage verify expects FILE.kusage)" "$KV" --state "$BOX/vendor" usage verify "$D"
folder "klic-vendor export-key -o DIR" "klic-vendor: $D: is a folder, not a file (export-key expects -o FILE.asc)" "$KV" --state "$BOX/vendor" export-key -o "$D"

# ---- item 9: the unknown option is named; a global option after the command gets a hint ------
folder "list --foo" "klic-admin: list: unknown option '--foo' (see 'klic-admin list --help')" admin list --foo
folder "member add --bogus=1" "klic-admin: member add: unknown option '--bogus' (see 'klic-admin member add --help')" admin member add --yes --bogus=1 x.asc
folder "issue -Z" "klic-admin: issue: unknown option '-Z' (see 'klic-admin issue --help')" admin issue -Z one.kreq
folder "issue x -o (no value)" "klic-admin: issue: option '-o' needs a value (see 'klic-admin issue --help')" admin issue one.kreq -o
folder "list --state X (global after the command)" \
	"klic-admin: list: unknown option '--state': global options go before the command: klic-admin --state DIR list (see 'klic-admin list --help')" \
	"$ADMIN" list --state "$A"
folder "report --gnupghome X" \
	"klic-admin: report: unknown option '--gnupghome': global options go before the command: klic-admin --gnupghome DIR report (see 'klic-admin report --help')" \
	admin report --gnupghome /tmp
folder "klic-vendor entitle --state X" \
	"klic-vendor: entitle: unknown option '--state': global options go before the command: klic-vendor --state DIR entitle (see 'klic-vendor entitle --help')" \
	"$KV" entitle --state "$BOX/vendor"

folder "klic-admin --foo list (an unknown global option)" "klic-admin: unknown option '--foo' (see 'klic-admin --help')" "$ADMIN" --foo list
folder "klic-admin --state (no value)" "klic-admin: a value is needed after '--state' (see 'klic-admin --help')" "$ADMIN" --state
folder "klic-vendor --bar" "klic-vendor: unknown option '--bar' (see 'klic-vendor --help')" "$KV" --bar list

# ---- item 11: the not-member denial tells the admin the command to run ------------------------
req eve "eve one.kreq" --product KRE --seats 1
admin issue "eve one.kreq" -o "$BOX/out" --yes >"$BOX/o" 2>"$BOX/e"
want="     to accept its key as a member, run: klic-admin --state $A member add --from-request 'eve one.kreq'"
grep -q "^DENY eve one.kreq -> $BOX/out/eve one.kresp: not-member" "$BOX/o" && [ "$(sed -n 2p "$BOX/o")" = "$want" ] && [ ! -s "$BOX/e" ] &&
	pass "not-member: the admin is told, under the DENY line: $want" || fail "not-member hint: $(cat "$BOX/o" "$BOX/e")"
cmd=$(sed -n "2s/^.*, run: klic-admin //p" "$BOX/o")
eval "\"\$ADMIN\" $cmd --yes" >/dev/null && admin issue "eve one.kreq" -o "$BOX/out" --yes >"$BOX/o" 2>&1 && grep -q "^OK   eve one.kreq" "$BOX/o" &&
	pass "running that command makes the request issuable" || fail "hint command: $cmd: $(cat "$BOX/o")"

# ---- item 15: the issue prompt names the member -----------------------------------------------
req ada tty.kreq --product KRE --seats 1
rc=0; echo n | script -qec "$ADMIN --state $A issue tty.kreq -o $BOX/out" /dev/null >"$BOX/o" 2>&1 || rc=$?
grep -q "tty.kreq: member ada <ada@test.invalid> ($ADA), machine .*, 1 KRE seat(s)" "$BOX/o" && [ "$rc" = 1 ] &&
	pass "the prompt shows the member's name with the fingerprint" || fail "prompt: rc=$rc $(cat "$BOX/o")"
# ---- item 15: --member and --product as people type them ------------------------------------
lower=$(echo "$ADA" | tr 'A-F' 'a-f')
grouped=$(echo "$ADA" | sed 's/..../& /g')
n_up=$(admin list --member "$ADA" | tail -n +2 | wc -l)
[ "$n_up" -gt 0 ] && [ "$(admin list --member "$lower" | tail -n +2 | wc -l)" = "$n_up" ] &&
	[ "$(admin list --member "$grouped" | tail -n +2 | wc -l)" = "$n_up" ] &&
	pass "list --member in lower case or gpg's groups of 4: the same $n_up licenses" || fail "list --member lower: $(admin list --member "$lower" 2>&1)"
[ "$(admin list --product kre | tail -n +2 | wc -l)" = "$(admin list --product KRE | tail -n +2 | wc -l)" ] &&
	[ "$(admin list --product Kse --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] &&
	pass "list --product kre / Kse accepted" || fail "list --product kre: $(admin list --product kre 2>&1 | head -2)"
folder "list --product xyz" "klic-admin: list: --product must be KRE or KSE (see 'klic-admin list --help')" admin list --product xyz
"$KV" --state "$BOX/vendor" entitle --org Lab --org-key "$BOX/kents/org-key.asc" --product kse --model node-locked --billing yearly \
	--seats 1 --until "$(date -u -d '+100 days' +%F)" --ref PO-lower -o "$BOX/lower.kent" >/dev/null &&
	admin entitlement import "$BOX/lower.kent" >/dev/null && admin entitlement list --json | python3 -c '
import json,sys; e=[x for x in json.load(sys.stdin) if x["ref"]=="PO-lower"]; sys.exit(0 if e and e[0]["product"]=="KSE" else 1)' &&
	pass "klic-vendor entitle --product kse signs a KSE entitlement" || fail "vendor --product kse"

# ---- item 15: audit verify catches an edited entitlement row --------------------------------
out=$(admin audit verify)
grep -q "^entitlements ok: 4 match their signed .kent$" <<<"$out" && pass "audit verify checks the entitlements: $(tail -1 <<<"$out")" || fail "audit verify: $out"
cp -a "$A" "$BOX/edited"
sqlite3 "$BOX/edited/ledger.sqlite" "UPDATE entitlements SET seats = seats + 100 WHERE id = 2"
rc=0; "$ADMIN" --state "$BOX/edited" audit verify >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$BOX/e")" = 1 ] &&
	grep -qF "klic-admin: $BOX/edited/ledger.sqlite: ledger failure: entitlement 2: seats is 103 in the ledger, its signed .kent says 3 (the row was edited)" "$BOX/e" &&
	pass "sqlite3 UPDATE entitlements SET seats: audit verify exit 1: $(cat "$BOX/e")" || fail "edited seats: rc=$rc $(cat "$BOX/o" "$BOX/e")"
sqlite3 "$BOX/edited/ledger.sqlite" "UPDATE entitlements SET seats = seats - 100 WHERE id = 2; UPDATE entitlements SET until = '2099-12-31' WHERE id = 3"
rc=0; "$ADMIN" --state "$BOX/edited" audit verify >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 1 ] && grep -qF "entitlement 3: until differs from its signed .kent (the row was edited)" "$BOX/e" &&
	pass "an edited end date is caught too: $(cat "$BOX/e")" || fail "edited until: rc=$rc $(cat "$BOX/e")"
cp -a "$A" "$BOX/edited2"
sqlite3 "$BOX/edited2/ledger.sqlite" "UPDATE entitlements SET seats = 9, kent = replace(kent, '\"seats\": 4', '\"seats\": 9') WHERE id = 3"
[ "$(sqlite3 "$BOX/edited2/ledger.sqlite" "SELECT instr(kent, '\"seats\": 9') > 0 FROM entitlements WHERE id = 3")" = 1 ] || fail "the .kent text edit did not apply"
rc=0; "$ADMIN" --state "$BOX/edited2" audit verify >"$BOX/o" 2>"$BOX/e" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$BOX/e")" = 1 ] && grep -qF "entitlement 3: its stored .kent does not verify with the vendor key" "$BOX/e" &&
	pass "row and .kent text both edited: the vendor signature catches it: $(cat "$BOX/e")" || fail "edited kent: rc=$rc $(cat "$BOX/e")"
# ---- item 13: init errors name the option (not the state folder); UTF-8 names -------------------
bad_init() {
	local what=$1 line=$2; shift 2
	local rc=0
	"$ADMIN" --state "$BOX/s13" init --org Lab --vendor "$BOX/vendor.asc" "$@" >"$BOX/o" 2>"$BOX/e" || rc=$?
	if [ "$rc" = 2 ] && [ "$(cat "$BOX/e")" = "$line" ] && [ ! -e "$BOX/s13" ]; then pass "$what: exit 2, no state made: $line"
	else fail "$what: rc=$rc $(cat "$BOX/e") $(ls "$BOX/s13" 2>&1)"; fi
}
bad_init "init --name with a tab" "klic-admin: init: invalid argument: --name holds a control character (byte 4)" --name $'Zoe\tM' --email z@test.invalid
bad_init "init --name not UTF-8" "klic-admin: init: invalid argument: --name is not valid UTF-8 (byte 3)" --name $'Zo\xe9' --email z@test.invalid
bad_init "init --email without @" "klic-admin: init: invalid argument: --email must look like user@host (printable ASCII, at most 200 characters)" --name Zoe --email zoe
bad_init "init --name with <" "klic-admin: init: invalid argument: --name must not contain '<', '>', '(' or ')'" --name 'Zoe <x>' --email z@test.invalid
rc=0; "$ADMIN" --state "$BOX/s13" init --org Lab --vendor "$BOX/vendor.asc" --name "Zoë Müller" --email zoe@test.invalid >"$BOX/o" 2>"$BOX/e" || rc=$?
if [ "$rc" = 0 ] && gpg --homedir "$BOX/s13/gnupg" --batch --with-colons --list-keys 2>/dev/null | grep -q '^uid:.*Zoë Müller <zoe@test.invalid>'; then
	pass "init --name 'Zoë Müller': the issuer key's user ID is the UTF-8 name"
else fail "init --name 'Zoë Müller': rc=$rc $(cat "$BOX/e")"; fi
if [ "$KLIC" != none ] && [ "$rc" = 0 ]; then
	"$ADMIN" --state "$BOX/s13" export-key -o "$BOX/zoe-issuer.asc" >/dev/null
	out=$("$KLIC" --home "$BOX/zoe-user" trust "$BOX/zoe-issuer.asc" | head -1)
	[[ "$out" == "issuer "*" Zoë Müller <zoe@test.invalid> (pinned)" ]] &&
		pass "klic trust shows a UTF-8 issuer name as it is: $out" || fail "klic trust of a UTF-8 issuer: $out"
fi
mkdir -m 700 "$BOX/gnupg-zoe"
gpg --homedir "$BOX/gnupg-zoe" --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key "Zoë Müller <zoe@test.invalid>" ed25519 sign never 2>/dev/null
gpg --homedir "$BOX/gnupg-zoe" --batch --armor --export > "$BOX/zoe.asc" 2>/dev/null
out=$(admin member add --yes "$BOX/zoe.asc") || fail "member add of a UTF-8 user ID: $out"
stored=$(ledger "SELECT name FROM members WHERE email = 'zoe@test.invalid'")
[ "$stored" = "Zoë Müller" ] && pass "member add of a UTF-8 user ID keeps the name exactly ($out)" ||
	fail "member add UTF-8: stored '$stored' ($out)"

t_done
