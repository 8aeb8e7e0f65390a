#!/usr/bin/env bash
# klic doctor: one line per check (OK/WARN/FAIL, what was found, what to
# do), exit 0 only without FAIL, and it never changes anything.  Each
# problem is made for real and must be named with its fix.
# Usage: doctor.sh KLIC KLIC_ADMIN
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"

# doc NAME WANT_RC HOME: run doctor on HOME, keep its output in doc.txt
doc() {
	local name=$1 want=$2 home=$3 rc=0
	"$KLIC" --home "$home" doctor >doc.txt 2>"$BOX/err.txt" || rc=$?
	if [ $rc -ne "$want" ]; then fail "$name: exit $rc, expected $want: $(cat doc.txt "$BOX/err.txt")"; return 1; fi
	if [ -s "$BOX/err.txt" ]; then fail "$name: stderr: $(cat "$BOX/err.txt")"; return 1; fi
	if grep -Evq '^(OK|WARN|FAIL) +[a-z-]+ +.+|^[0-9]+ failed, [0-9]+ warnings$' doc.txt; then
		fail "$name: a line that is not a check: $(grep -Ev '^(OK|WARN|FAIL) ' doc.txt | head -1)"; return 1
	fi
	if grep -E '^(WARN|FAIL) ' doc.txt | grep -vq ' -- '; then
		fail "$name: a problem without a fix: $(grep -E '^(WARN|FAIL) ' doc.txt | grep -v ' -- ' | head -1)"; return 1
	fi
	pass "$name: exit $rc, $(tail -1 doc.txt)"
}
# has NAME REGEX: doc.txt has a matching line.
has() { if grep -Eq -- "$2" doc.txt; then pass "$1: $(grep -E -- "$2" doc.txt | head -1 | cut -c1-150)"; else fail "$1: no /$2/ in: $(cat doc.txt)"; fi; }

# --- nothing set up: every missing piece named, nothing created -----------------------------
doc "empty home" 1 "$BOX/nothing"
has "home missing" '^FAIL +home .*does not exist -- run: klic init'
has "keyring missing" '^FAIL +keyring .* -- run: klic init'
has "no issuer" '^FAIL +issuer +no issuer pinned.* -- .*klic trust FILE.asc'
[ ! -e "$BOX/nothing" ] && pass "doctor created nothing" || fail "doctor created $BOX/nothing"

# --- a good setup ---------------------------------------------------------------------------------
setup_pair
admin issue first.kreq -o out --yes >/dev/null
user install out/first.kresp >/dev/null
sum=$(tree_sum "$U")
doc "healthy setup" 0 "$U"
has "user key" '^OK +user-key +[0-9A-F]{40} can sign'
has "issuer pinned and present" '^OK +issuer +[0-9A-F]{40} pinned, its key is in the keyring'
has "machine ID as klic id" "^OK +machine-id +this machine is $(user id)\$"
has "license without a vendor key: not called valid" '^WARN +license +KRE_.*\.lic: KRE license signed by the pinned issuer until .* NOT checked against a vendor key -- install the vendor'"'"'s public key'
[ "$(tree_sum "$U")" = "$sum" ] && pass "doctor changed nothing in the home" || fail "doctor changed the home"
user doctor --json >doc.json
python3 - doc.json <<'PY' && pass "doctor --json: checks with check/status/detail/fix, ok true" || fail "doctor --json: $(head -c 300 doc.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['ok'] is True and d['fail'] == 0
assert all(set(c) == {'check', 'status', 'detail', 'fix'} and c['status'] in ('OK', 'WARN', 'FAIL') for c in d['checks'])
PY

# --- each problem, made for real ---------------------------------------------------------------------
chmod 755 "$U/klic/gnupg"
doc "keyring open to others" 1 "$U" && has "keyring mode named with its fix" "^FAIL +keyring .*mode 0755.* -- chmod 700 $U/klic/gnupg"
chmod 700 "$U/klic/gnupg"
# issue 18 item 4: a keyring of the wrong mode is the keyring's problem, not
# the licenses': one keyring line with chmod, no "broken ... install again"
chmod 777 "$U/klic/gnupg"
doc "keyring mode 0777" 1 "$U" &&
	has "keyring 0777 named with chmod" "^FAIL +keyring +$U/klic/gnupg \(mode 0777\) is open to other users.* -- chmod 700 $U/klic/gnupg\$"
[ "$(grep -Ec '^FAIL +keyring' doc.txt)" -eq 1 ] && pass "keyring 0777: one keyring line" || fail "keyring lines: $(grep keyring doc.txt)"
has "keyring 0777: the license is not blamed" "^WARN +license +KRE_.*\.lic: not checked: the keyring $U/klic/gnupg is not usable -- fix the keyring first \(see above\)"
if grep -Eq 'broken|install the response again' doc.txt; then fail "keyring 0777: a license called broken: $(grep -E 'broken|install the response again' doc.txt)"
else pass "keyring 0777: no license called broken"; fi
chmod 700 "$U/klic/gnupg"
doc "keyring mode fixed" 0 "$U"

chmod 777 "$U"
doc "home writable by others (a warning)" 0 "$U" && has "home: chmod go-w" "^WARN +home .*writable by others.* -- chmod go-w $U\$"
chmod 700 "$U"

ifpr=$(gpg --homedir "$U/klic/gnupg" --batch --with-colons --list-keys 2>/dev/null |
	awk -F: '/^fpr/ {print $10}' | grep -v "$(user doctor --json | python3 -c 'import json,sys; print([c["detail"][:40] for c in json.load(sys.stdin)["checks"] if c["check"]=="user-key"][0])')" | head -1)
gpg --homedir "$U/klic/gnupg" --batch --yes --delete-keys "$ifpr" 2>/dev/null
doc "pinned issuer's key deleted from the keyring" 1 "$U" &&
	has "missing issuer key named" "^FAIL +issuer +$ifpr is pinned but its key is missing.* -- run again: klic trust"
has "licenses cannot be verified then" '^FAIL +license .*not signed by a pinned issuer|^FAIL +license '
user trust issuer.asc >/dev/null
doc "issuer trusted again" 0 "$U"

cp "$U/klic/clock" clock.bak
date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ >"$U/klic/clock"
doc "clock behind the trusted time" 1 "$U" && has "clock named with its fix" '^FAIL +clock +system clock .* is behind the latest trusted time .* -- if the system clock is wrong, set it'
# issue 18 item 4: the record ahead of a correct clock: the line names the
# record and how to recover (remove it), and doing so makes the home healthy
has "clock record named with its path" "^FAIL +clock +system clock .* \(recorded in $U/klic/clock\): no license is valid -- .*if it is right .*: remove $U/klic/clock \(klic then trusts the system clock"
rm "$U/klic/clock"
doc "clock record removed as told: healthy again" 0 "$U" && has "no record, clock OK" '^OK +clock +system clock .*; no trusted time recorded yet'
echo garbage >"$U/klic/clock"
doc "damaged clock file" 1 "$U" && has "damaged clock named" '^FAIL +clock +.*/klic/clock.*malformed'
cp clock.bak "$U/klic/clock"

lic=$(ls "$U/license"/*.lic | head -1)
cp "$lic" lic.bak
python3 - "$lic" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
i = b.index(b'"product"')
b[i + 1] ^= 0x20  # "Product": the signed bytes change
open(p, 'wb').write(bytes(b))
PY
doc "a broken license file" 1 "$U" && has "broken license named" '^FAIL +license +KRE_.*\.lic: .* -- remove it'
cp lic.bak "$lic"
cp "$lic" "$U/license/KRE_$(user id)_9.lic"
doc "a license copied under another name" 1 "$U" &&
	has "renamed license named" "^FAIL +license +KRE_.*_9\.lic: the license does not grant this file name.* -- remove it"
rm "$U/license/KRE_$(user id)_9.lic"
echo "not a license" >"$U/license/README.txt"
doc "other files in the license folder are left alone" 0 "$U"

# expiring soon and expired: made in the past (faketime), each in its own home
if faketime '-1 days' "$KLIC" --version >/dev/null 2>&1; then
	# an admin whose key is older than everything it signs
	P="$BOX/past-admin"
	# and a vendor older still (its own: a key cannot sign before it exists)
	T_VENDOR="$BOX/past-vendor"
	T_RUN=(faketime '-72 days')
	t_vendor
	T_RUN=(faketime '-71 days')
	t_org_setup "$P" Past 5 KRE node-locked yearly --until 2099-12-31
	T_RUN=()
	unset T_VENDOR
	faketime '-71 days' "$ADMIN" --state "$P" export-key -o past-issuer.asc
	past() { # past HOME DAYS_AGO: a license issued DAYS_AGO days ago, installed then
		local h=$1 d=$2
		faketime "-$d days" "$KLIC" --home "$h" init --name P --email p@test.invalid >/dev/null
		# faketime starts each command at a whole second: the next one may
		# begin up to a second before the new key was made (then gpg calls
		# it invalid, made in the future), more likely on a loaded machine
		sleep 1
		faketime "-$d days" "$KLIC" --home "$h" trust past-issuer.asc >/dev/null
		faketime "-$d days" "$KLIC" --home "$h" request --product KRE -o "p$d.kreq" >/dev/null
		faketime "-$d days" "$ADMIN" --state "$P" member add --yes --from-request "p$d.kreq" >/dev/null
		faketime "-$d days" "$ADMIN" --state "$P" issue "p$d.kreq" -o out --yes >/dev/null
		faketime "-$d days" "$KLIC" --home "$h" install "out/p$d.kresp" >/dev/null
	}
	past "$BOX/soon" 57
	doc "license expiring in 2 days (a warning)" 0 "$BOX/soon" &&
		has "expiring soon named" '^WARN +license +KRE_.*: valid KRE license, expires .* -- request a new license soon: klic request --product KRE'
	past "$BOX/gone" 70
	doc "expired license (a warning)" 0 "$BOX/gone" &&
		has "expired named" '^WARN +license +KRE_.*: KRE license expired .* -- remove it'
else
	echo "# skipped: faketime cannot run klic here (sanitizer build?)"
fi

# a license made for another machine (needs root and unshare -m)
if can_unshare; then
	printf '%s\n' 0123456789abcdef0123456789abcdef >other-machine-id
	O="$BOX/other"
	on_machine other-machine-id "$KLIC" --home "$O" init --name O --email o@test.invalid >/dev/null
	on_machine other-machine-id "$KLIC" --home "$O" trust issuer.asc >/dev/null
	on_machine other-machine-id "$KLIC" --home "$O" request --product KRE -o o.kreq >/dev/null
	admin member add --yes --from-request o.kreq >/dev/null
	admin issue o.kreq -o out --yes >/dev/null
	on_machine other-machine-id "$KLIC" --home "$O" install out/o.kresp >/dev/null
	cp "$O"/license/*.lic "$U/license/"
	doc "a license of another machine (a warning)" 0 "$U" &&
		has "other machine named" '^WARN +license +KRE_.*: made for machine .*, not this one.* -- remove it'
	on_machine other-machine-id "$KLIC" --home "$O" doctor >doc.txt 2>/dev/null || true
	has "doctor on the other machine names its ID" "^OK +machine-id +this machine is $(on_machine other-machine-id "$KLIC" id)\$"
else
	echo "# skipped: another machine needs root and unshare -m"
fi
t_done
