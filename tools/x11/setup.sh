#!/usr/bin/env bash
# Installs what the X11 example, benchmark and test need, from Debian's
# packages: the virtual X server Xvfb (package xvfb), libX11 and libXext
# (libx11-6, libxext6: the MIT-SHM client calls) and xdpyinfo (x11-utils).
# Needs root or sudo when something is missing. Idempotent; when everything
# is installed it only checks and returns at once.
# Usage: tools/x11/setup.sh
set -euo pipefail

say() { printf 'x11 setup: %s\n' "$*"; }
die() {
  printf 'x11 setup: ERROR: %s\n' "$*" >&2
  exit 1
}

[ "$(uname -s)" = Linux ] || { say "not Linux ($(uname -s)): nothing to do"; exit 0; }

have_lib() { # <soname>
  ldconfig -p 2>/dev/null | grep -q " $1 " && return 0
  for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/$1" ] && return 0
  done
  return 1
}

need=()
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdpyinfo >/dev/null 2>&1 || need+=(x11-utils)
have_lib libX11.so.6 || need+=(libx11-6)
have_lib libXext.so.6 || need+=(libxext6)
if [ ${#need[@]} -eq 0 ]; then
  say "Xvfb, libX11, libXext and xdpyinfo are installed"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "${need[*]} missing and no apt-get here: install Xvfb, libX11 and libXext by hand."
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "${need[*]} missing and not root: run apt-get install ${need[*]} as root."
  sudo=(sudo)
fi
say "installing ${need[*]} with apt-get"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
{ "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${need[@]}"; } >"$log" 2>&1 || {
  tail -n 30 "$log" >&2
  die "apt-get install ${need[*]} failed."
}
command -v Xvfb >/dev/null 2>&1 || die "Xvfb not found after installing ${need[*]}."
say "installed ${need[*]}"
