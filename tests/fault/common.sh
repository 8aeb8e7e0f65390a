# Shared helpers for the fault-injection scripts (sourced after ../lib.sh).
# Needs SHIM (absolute path of klic_fault_shim.so).

# These loops run for minutes: keep the sandbox out of the /tmp/klic-t-*
# namespace of the quick scripted tests, so a cleanup of leftover klic-t-*
# boxes on a shared machine cannot pull it away mid-run.  t_cleanup (lib.sh)
# removes whatever $BOX names at exit.
rmdir "$BOX"
BOX=$(mktemp -d /tmp/klic-fault-XXXXXX)
cd "$BOX"

# The system python3 (a pyenv shim re-execs through bash: slow in loops).
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# The failure modes each loop runs through every injection point with:
#   EIO            the Nth call fails once (a transient I/O error)
#   ENOSPC:persist the Nth and every later call fails (the disk stays full)
#   KILL           the process is killed (SIGKILL) just before the Nth call
FAULT_MODES=${KLIC_FAULT_MODES:-"EIO ENOSPC:persist KILL"}
# KLIC_FAULT_STRIDE=K injects at points 1, 1+K, 1+2K ... only (default 1:
# every point); the sanitizer build uses it to keep CI short.
STRIDE=${KLIC_FAULT_STRIDE:-1}
# KLIC_FAULT_ROTATE=1 faults each point of the plan with one mode, in turn
# (the Kth point with the (K mod M)th of the M modes): every point and
# every mode still fail, in a third of the runs; test.sh sets it to keep CI
# within its 30 minutes.  0 (the default by hand): every mode at every point.
ROTATE=${KLIC_FAULT_ROTATE:-0}
NMODES=$(wc -w <<<"$FAULT_MODES")
# skip_point MODE_INDEX POINT_INDEX: true when rotating and the point is
# another mode's
skip_point() { [ "$ROTATE" = 1 ] && [ $(($2 % NMODES)) -ne "$1" ]; }

# (the shim's unlink class is opt-in per call, KLIC_FAULT_UNLINK=1 shim ...:
# never inherited, so the plans of the other loops stay as they are)
unset KLIC_FAULT_UNLINK

# shim PREFIX LOG FAULT CMD...: run CMD with the shim preloaded.  The
# sanitizer runtime of a --sanitize build must not insist on coming first.
shim() {
	local prefix=$1 log=$2 fault=$3; shift 3
	# (the group's own stderr is /dev/null so that bash does not report a
	# process the KILL mode killed; the command's stderr is the caller's)
	{ env LD_PRELOAD="$SHIM" KLIC_FAULT="$fault" KLIC_FAULT_PREFIX="$prefix" KLIC_FAULT_LOG="$log" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@" 2>&3 3>&-; } 3>&2 2>/dev/null
}

# files_sum DIR: one line per regular file (sha256, path) and symlink; the
# directories themselves are not listed (an empty directory left by a
# mkdir -p is not state).  With NORM_CLOCK=1 the trusted clock's content
# (a time) is replaced by "present"; with NO_TEMPS=1 temporary files
# (*.tmp*) are left out.
files_sum() {
	local d=$1
	[ -e "$d" ] || { echo absent; return; }
	(cd "$d" && find . \( -type f -o -type l \) -print0 | sort -z | while IFS= read -r -d '' p; do
		if [ "${NO_TEMPS:-0}" = 1 ] && [[ "$p" == *.tmp* ]]; then continue
		# the license folder's lock (klic(1)): an empty file made on first
		# use and never removed, no state; with any byte in it, it counts
		elif [ "$p" = ./klic/license.lock ] && [ -f "$p" ] && [ ! -L "$p" ] && [ ! -s "$p" ]; then continue
		elif [ "${NORM_CLOCK:-0}" = 1 ] && [ "$p" = ./klic/clock ]; then echo "present $p"
		elif [ -L "$p" ]; then echo "link $p -> $(readlink "$p")"
		else printf '%s %s\n' "$(sha256sum < "$p" | cut -c1-64)" "$p"; fi
	done)
}

# temps DIR: leftover temporary files of the atomic-write helper (and of
# anything else that names its temp files *.tmp*).
temps() { find "$1" -name '*.tmp*' 2>/dev/null | sort; }

# sum_diff BEFORE AFTER: "+path" (new), "-path" (gone), "~path" (changed),
# from two files_sum outputs, on one line.
sum_diff() {
	awk 'NR == FNR { a[$2] = $1; next } { b[$2] = $1 }
	     END { for (p in b) if (!(p in a)) o = o " +" p; else if (a[p] != b[p]) o = o " ~" p
	           for (p in a) if (!(p in b)) o = o " -" p
	           sub(/^ /, "", o); print o }' <(echo "$1") <(echo "$2")
}

# mixed BEFORE CLEAN AFTER: the files of AFTER (files_sum, NO_TEMPS=1) that
# are neither as in BEFORE nor as in CLEAN (a half-written or foreign file);
# the trusted clock is exempt (it holds a time).
mixed() {
	awk 'FILENAME == ARGV[1] { a[$2] = $1; next } FILENAME == ARGV[2] { c[$2] = $1; next }
	     $2 != "./klic/clock" && $1 != a[$2] && $1 != c[$2] { o = o " " $2 }
	     END { sub(/^ /, "", o); print o }' <(echo "$1") <(echo "$2") <(echo "$3")
}

# note_point MSG: a detail line for a failing injection point; at most
# NOTE_MAX (8) per loop, the loop's own pass/fail line counts them all.
NOTES=0
note_point() {
	NOTES=$((NOTES + 1))
	if [ "$NOTES" -le "${NOTE_MAX:-8}" ]; then
		echo "#   $*" | sed -e 's/[0-9A-Z]\{5\}\(-[0-9A-Z]\{5\}\)\{4\}/<id>/g' -e 's/[0-9a-f]\{64\}/<digest>/g' | cut -c1-400
	elif [ "$NOTES" -eq $((${NOTE_MAX:-8} + 1)) ]; then echo "#   (more not shown)"; fi
}

# fault_what LOG ROOT: "FUNC PATH" of the injected failure (relative to
# ROOT), empty when the run never reached it.
fault_what() {
	[ -f "$1" ] || return 0
	grep -m1 ' FAIL ' "$1" | cut -d' ' -f4,6 | sed -e "s|$2/||" -e "s|$2|$(basename "$2")|" \
		-e 's|\.tmp\.[0-9a-f]*|.tmp.*|' || true
}
