#!/usr/bin/env bash
# The command-line contract: --help on every command (stdout, exit 0),
# --version, usage errors (exit 2, one line, nothing on stdout), "-" for
# standard input/output wherever klic reads or writes a file, and --json
# output that is valid JSON with the documented keys.
# Usage: cli.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# help_ok NAME CMD...: exit 0, a usage line on stdout, nothing on stderr.
help_ok() {
	local name=$1 rc=0; shift
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ $rc -eq 0 ] && grep -q '^usage: ' "$BOX/out.txt" && [ ! -s "$BOX/err.txt" ]; then
		pass "$name --help"
	else fail "$name --help: exit $rc, $(head -c 200 "$BOX/out.txt") $(head -c 200 "$BOX/err.txt")"; fi
}
# usage_err CMD...: exit 2, one stderr line, nothing on stdout.
usage_err() {
	local rc=0
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$BOX/err.txt")" -eq 1 ] && [ ! -s "$BOX/out.txt" ]; then
		pass "usage error: ${*:2}: $(cat "$BOX/err.txt")"
	else fail "not a usage error (exit $rc): ${*:2}: $(head -c 200 "$BOX/err.txt")"; fi
}
json_ok() { # json_ok NAME FILE KEYS...: valid JSON object holding KEYS
	local name=$1 f=$2; shift 2
	if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); missing=[k for k in sys.argv[2:] if k not in d]; sys.exit(1 if missing else 0)' "$f" "$@"; then
		pass "$name: valid JSON with keys $*"
	else fail "$name: $(head -c 300 "$f")"; fi
}

# --- help and version ----------------------------------------------------------------
help_ok "klic" "$KLIC" --help
for c in id init trust request install status verify doctor; do help_ok "klic $c" "$KLIC" "$c" --help; done
"$KLIC" --version | grep -Eq '^klic [0-9]+\.[0-9]+\.[0-9]+ \(protocol 2\)$' && pass "klic --version: $("$KLIC" --version)" ||
	fail "klic --version: $("$KLIC" --version)"
"$KLIC" --help | grep -q '^  doctor ' && pass "doctor is listed in klic --help" || fail "klic --help lists no doctor"
"$KLIC" request --help | grep -q -- '--qr-png FILE' && "$KLIC" request --help | grep -q -- '--armor' &&
	pass "request --help documents --armor, --qr, --qr-png" || fail "request --help"
for c in init export-key vendor "vendor set" entitlement "entitlement import" "entitlement list" member "member add" issue list audit; do
	# shellcheck disable=SC2086
	rc=0; "$ADMIN" $c --help >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	[ $rc -eq 0 ] && [ -s "$BOX/out.txt" ] && [ ! -s "$BOX/err.txt" ] && pass "klic-admin $c --help" ||
		fail "klic-admin $c --help: exit $rc"
done
"$ADMIN" --version | grep -q '^klic-admin ' && pass "klic-admin --version" || fail "klic-admin --version"
"$ADMIN" issue --help | grep -q -- '--armor' && pass "klic-admin issue --help documents --armor" || fail "issue --help"

# --- usage errors ----------------------------------------------------------------------
usage_err "$KLIC"
usage_err "$KLIC" frobnicate
usage_err "$KLIC" --bogus id
usage_err "$KLIC" doctor --bogus
usage_err "$KLIC" doctor extra
usage_err "$KLIC" doctor --json --json
usage_err "$KLIC" request --product KRE --armor --armor
usage_err "$KLIC" request --product KRE --qr --qr
usage_err "$KLIC" request --product KRE --qr-png
usage_err "$KLIC" request --product KRE --qr-png ''
usage_err "$KLIC" request --product KRE --qr-png a.png --qr-png b.png
usage_err "$KLIC" request --product KRE -o - --qr-png -
usage_err "$KLIC" install
usage_err "$KLIC" install a b
usage_err "$ADMIN" --state "$A" issue x.kreq --armor --armor

# --- "-" for every file klic reads or writes -----------------------------------------------
setup_pair
user request --product KRE --seats 2 -o - >std.kreq 2>"$BOX/err.txt"
[ "$(head -c2 std.kreq | od -An -tx1 | tr -d ' ')" = 1f8b ] && [ ! -s "$BOX/err.txt" ] &&
	grep -qx requester.pgp <<<"$(tar tzf std.kreq)" && pass "request -o -: the bundle on stdout, nothing else" ||
	fail "request -o -"
"$KLIC" --home "$BOX/u2" init --name U2 --email u2@test.invalid >/dev/null
fpr=$("$KLIC" --home "$BOX/u2" trust - <issuer.asc)
[ "$(echo "$fpr" | head -1 | cut -d' ' -f2)" = "$(user trust issuer.asc | head -1 | cut -d' ' -f2)" ] && echo "$fpr" | grep -Eq '^issuer [0-9A-F]{40} '  && pass "trust - reads the key from stdin ($fpr)" || fail "trust -: $fpr"
admin issue std.kreq -o out --yes >/dev/null
user install - <out/std.kresp >"$BOX/out.txt" 2>"$BOX/err.txt" && [ "$(wc -l <"$BOX/out.txt")" -eq 2 ] &&
	pass "install - reads the response from stdin" || fail "install -: $(cat "$BOX/err.txt")"
lic=$(head -1 "$BOX/out.txt")
check "verify the installed license" user verify --vendor "$BOX/vendor.asc" "$lic"
# a license's file name selects its seat: from stdin the name is given
rc=0; user verify --vendor "$BOX/vendor.asc" --name "$(basename "$lic")" - <"$lic" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ $rc -eq 0 ] && grep -q '^valid: KRE' "$BOX/out.txt" && pass "verify --name NAME - reads a license from stdin" ||
	fail "verify --name -: exit $rc: $(cat "$BOX/err.txt")"
usage_err user verify --vendor "$BOX/vendor.asc" -
usage_err user verify --vendor "$BOX/vendor.asc" --name "$(basename "$lic")" "$lic"
usage_err user verify --vendor "$BOX/vendor.asc" --name sub/x.lic -
rc=0; user verify --vendor "$BOX/vendor.asc" --name KRE_$(user id)_9.lic - <"$lic" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "license file name not granted" "$BOX/err.txt" &&
	pass "verify - under a name the license does not grant: refused" || fail "verify wrong --name: exit $rc $(cat "$BOX/err.txt")"
admin export-key -o - | grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' && pass "klic-admin export-key -o -" ||
	fail "export-key -o -"
out=$(admin export-key -o "$BOX/ik.asc") && ifpr=$(gpg --batch --with-colons --show-keys "$BOX/ik.asc" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}') &&
	[ "$out" = "$BOX/ik.asc $ifpr
next: give $BOX/ik.asc to your users: klic trust $BOX/ik.asc" ] &&
	pass "klic-admin export-key -o FILE names the file and the issuer fingerprint" || fail "export-key -o FILE: $out"
"$KLIC" --home "$BOX/u2" request --product KRE -o - | admin member add --yes --from-request - >/dev/null &&
	pass "klic-admin member add --from-request -" || fail "member add --from-request -"
"$KLIC" --home "$BOX/u2" request --product KRE -o u2.kreq >/dev/null
rc=0; admin issue - -o stdout-out --yes <u2.kreq >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
[ $rc -eq 0 ] && [ -s stdout-out/stdin.kresp ] && grep -q '^OK   - -> stdout-out/stdin.kresp' "$BOX/out.txt" &&
	pass "klic-admin issue - answers a request from stdin as DIR/stdin.kresp" ||
	fail "issue -: exit $rc $(cat "$BOX/out.txt" "$BOX/err.txt")"
usage_err admin issue u2.kreq -o - --yes
[ ! -e ./- ] && pass "issue -o -: no folder named '-'" || fail "issue -o - made a folder"

# --- --json -------------------------------------------------------------------------------------
user status --vendor "$BOX/vendor.asc" --json >status.json && json_ok "klic status --json" status.json machine_id clock_ok licenses
python3 -c 'import json,sys; l=json.load(open("status.json"))["licenses"]; k={"file","product","machine_id","license_id","issued","expires","days_left","valid","reason"}; sys.exit(0 if l and all(set(x)>=k for x in l) else 1)' &&
	pass "status --json: every license has the documented keys" || fail "status --json keys"
user doctor --json >doctor.json && json_ok "klic doctor --json" doctor.json checks ok fail warn home
admin list --json >list.json && python3 -c 'import json,sys; json.load(open("list.json"))' &&
	pass "klic-admin list --json is valid JSON" || fail "list --json"
admin entitlement list --json >ent.json && python3 -c 'import json,sys; json.load(open("ent.json"))' &&
	pass "klic-admin entitlement list --json is valid JSON" || fail "entitlement list --json"
t_done
