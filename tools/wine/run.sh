#!/usr/bin/env bash
# Runs a Windows build of a runtime under Wine, from the project root, and
# exits with its exit code. Run tools/wine/setup.sh once first.
#
# Usage: tools/wine/run.sh <runtime> <arguments...>
#   bun     bun.exe (version of node_modules/bun)     run.sh bun tests/x.ts
#   deno    deno.exe (version of node_modules/deno)   run.sh deno run -A tests/x.ts
#   node    node.exe (version of node_modules/node)   run.sh node tests/x.ts
#   node22  node.exe 22, the oldest Node we support   run.sh node22 tests/x.ts
#
# Arguments go to the runtime unchanged; paths are relative to the project
# root (Wine maps / to drive Z:, and the current folder is the project root).
# Quirks handled here:
#   - node.exe under Wine dies with EBADF when stdout or stderr is a pipe, so
#     its output goes to files that are streamed to ours as they grow;
#   - deno.exe: DENO_DISABLE_NODE_SHIM=1 (otherwise every run leaves a 93 MB
#     temporary file), no update check, no permission prompts (pass
#     -A / --allow-ffi yourself).
# Environment: SHMEM_WINE_CACHE (see env.sh), SHMEM_WINE_PERSIST (see below),
# WINEDEBUG (default -all).
# Not handled: Bun under Wine cannot create a new file from a relative path
# (fs.writeFileSync("x")); programs must resolve such paths to absolute ones.
# Exit codes: Wine passes the low byte of the Windows exit status (a crash by
# access violation, 0xC0000005, gives 5; Bun's own crash handler exits 3).
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

die() {
  printf 'wine run: %s\n' "$*" >&2
  exit 2
}

[ $# -ge 1 ] || die "usage: tools/wine/run.sh <bun|deno|node|node22> <arguments...>"
runtime=$1
shift

case $runtime in
  bun) exe=$shmem_bun_exe ;;
  deno)
    exe=$shmem_deno_exe
    export DENO_DISABLE_NODE_SHIM=1 DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
    ;;
  node) exe=$shmem_node_exe ;;
  node22) exe=$shmem_node22_exe ;;
  *) die "unknown runtime '$runtime': use bun, deno, node or node22." ;;
esac

[ -x "$shmem_wine_bin" ] || die "Wine not installed: run tools/wine/setup.sh first."
[ -f "$WINEPREFIX/system.reg" ] || die "no Wine prefix at $WINEPREFIX: run tools/wine/setup.sh first."
[ -f "$exe.starts" ] || die "$runtime not prepared ($exe): run tools/wine/setup.sh first."

cd "$shmem_root" || die "cannot enter $shmem_root"

# Keep the wineserver (and Wine's services) up for SHMEM_WINE_PERSIST seconds
# (default 10, 0: Wine's default of none) after the last Windows process
# exits, so that a series of runs does not pay Wine's start-up each time.
# Starting one when one is already running is a no-op (~5 ms).
persist=${SHMEM_WINE_PERSIST:-10}
if [ "$persist" != 0 ]; then
  "$shmem_wineserver_bin" -p"$persist" </dev/null >/dev/null 2>&1 || true
fi

case $runtime in
  bun | deno)
    exec "$shmem_wine_bin" "$exe" "$@"
    ;;
esac

# node.exe: koffi's Windows binary must sit beside the project's koffi (an
# `npm install` may have removed it since setup).
if target=$(shmem_koffi_target) && [ ! -f "$target/win32_x64/koffi.node" ] &&
  [ -f "$shmem_koffi_dir/win32_x64/koffi.node" ]; then
  mkdir -p "$(dirname "$target")" && rm -rf "$target" && cp -R "$shmem_koffi_dir" "$target" &&
    rm -f "$target/.complete"
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/shmem-wine-node.XXXXXX") || die "mktemp failed"
: >"$out/stdout"
: >"$out/stderr"
child=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -n "$child" ] && kill "$child" 2>/dev/null
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$shmem_wine_bin" "$exe" "$@" >"$out/stdout" 2>"$out/stderr" &
child=$!
# Stream both files while node.exe runs; tail exits (after a last read) once
# the process is gone.
tail -n +1 -s 0.1 --pid="$child" -f "$out/stdout" &
tail_out=$!
tail -n +1 -s 0.1 --pid="$child" -f "$out/stderr" >&2 &
tail_err=$!
wait "$child"
rc=$?
child=
wait "$tail_out" "$tail_err"
exit $rc
