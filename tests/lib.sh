# Shared helpers for the scripted tests (sourced, bash).
# Every test runs in its own sandbox under /tmp (short gpg-agent socket
# paths) and kills the gpg-agents of every GNUPGHOME it used on exit.
set -euo pipefail

T_FAILS=0
T_PASSES=0
BOX=$(mktemp -d /tmp/klic-t-XXXXXX)

t_cleanup() {
	local g
	while IFS= read -r g; do
		gpgconf --homedir "$g" --kill all >/dev/null 2>&1 || true
	done < <(find "$BOX" -type d \( -name gnupg -o -name 'gnupg-*' \) 2>/dev/null)
	if [ "${KEEP:-0}" = 1 ]; then echo "sandbox kept: $BOX" >&2; else rm -rf "$BOX"; fi
}
trap t_cleanup EXIT

pass() { T_PASSES=$((T_PASSES + 1)); echo "ok   - $*"; }
fail() { T_FAILS=$((T_FAILS + 1)); echo "FAIL - $*"; }

# t_done: print the plain summary line and exit non-zero on any failure.
t_done() {
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}

# flip FILE OFFSET: xor one byte with 0x01 in place.
flip() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j"$off" -N1 "$f" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# same_content A B: both gzip streams decompress, to the same bytes.  Some
# bit flips of a gzip file change nothing it holds (gzip header fields that
# zlib ignores, unused deflate code lengths, padding bits of the last deflate
# byte); such a file is the same bundle, and accepting it is right.
same_content() {
	local x y
	x=$(gzip -dc <"$1" 2>/dev/null | sha256sum) || return 1
	y=$(gzip -dc <"$2" 2>/dev/null | sha256sum) || return 1
	[ "$x" = "$y" ]
}

# tree_sum DIR: one line per file (path + sha256) and per directory, so a
# comparison before/after shows any change, including new empty files.
tree_sum() {
	local d=$1
	if [ ! -e "$d" ]; then echo "absent"; return; fi
	(cd "$d" && find . -print0 | sort -z | while IFS= read -r -d '' p; do
		if [ -f "$p" ]; then printf '%s %s\n' "$(sha256sum < "$p" | cut -c1-64)" "$p"
		else printf 'dir %s\n' "$p"; fi
	done)
}

# expect_refused NAME DIR_TO_WATCH CMD...: the command must exit 1 with
# exactly one line on stderr, and DIR_TO_WATCH must be unchanged.
expect_refused() {
	local name=$1 watch=$2; shift 2
	local before after rc=0 lines
	before=$(tree_sum "$watch")
	"$@" >"$BOX/out.txt" 2>"$BOX/err.txt" || rc=$?
	after=$(tree_sum "$watch")
	lines=$(wc -l <"$BOX/err.txt")
	if [ "$rc" -ne 1 ]; then
		fail "$name: exit $rc, expected 1 ($(head -c 300 "$BOX/err.txt"))"
	elif [ "$lines" -ne 1 ]; then
		fail "$name: $lines stderr lines, expected 1: $(head -c 300 "$BOX/err.txt")"
	elif [ "$before" != "$after" ]; then
		fail "$name: $watch changed"
	else
		pass "$name: $(cat "$BOX/err.txt")"
	fi
}

# can_unshare: 0 when we may simulate another machine with a mount namespace.
can_unshare() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null
}

# on_machine MACHINE_ID_FILE CMD...: run CMD with /etc/machine-id replaced
# (bind mount inside a private mount namespace; the host is not affected).
on_machine() {
	local idfile=$1; shift
	unshare -m --propagation private bash -c 'mount --bind "$0" /etc/machine-id && exec "$@"' "$idfile" "$@"
}
