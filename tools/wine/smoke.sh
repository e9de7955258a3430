#!/usr/bin/env bash
# Runs tools/wine/smoke.ts under Wine: each Windows runtime alone, then pairs
# of processes (writer + reader, across runtimes) sharing one named mapping,
# then a crash check. Prints a table with wall-clock times; exits 1 if any
# step failed. Run tools/wine/setup.sh first.
#
# Usage: tools/wine/smoke.sh [runtime...]    (default: bun deno node node22)
# Logs: <cache>/smoke/logs/ (see env.sh for the cache folder).
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

run=$shmem_wine_dir/run.sh
script=tools/wine/smoke.ts
runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=(bun deno node node22)

work=$shmem_wine_cache/smoke
logs=$work/logs
rm -rf "$work"
mkdir -p "$logs" || exit 1
failed=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Sets cmd to the command that runs smoke.ts in runtime $1.
cmd_for() {
  case $1 in
    deno) cmd=("$run" deno run --allow-all "$script") ;;
    *) cmd=("$run" "$1" "$script") ;;
  esac
}

# <log>: the "ok"/"FAIL" lines of a failed run, and the error output around.
show_failure() {
  echo "    ---- $1"
  sed 's/^/    | /' "$1" | tail -n 25
}

printf '\n== one process per runtime (smoke.ts self)\n'
printf '%-8s %-8s %s\n' runtime wall result
for r in "${runtimes[@]}"; do
  log=$logs/self-$r.log
  t=$(now_ms)
  cmd_for "$r"
  "${cmd[@]}" self >"$log" 2>&1
  rc=$?
  dt=$(($(now_ms) - t))
  line=$(grep '^SMOKE ' "$log" | sed 's/^SMOKE //')
  if [ $rc -eq 0 ]; then
    printf '%-8s %5d ms ok   %s\n' "$r" "$dt" "$line"
  else
    failed=1
    printf '%-8s %5d ms FAIL exit %d\n' "$r" "$dt" "$rc"
    show_failure "$log"
  fi
done

printf '\n== two processes, one mapping (writer holds the only handle; reader opens by name)\n'
printf '%-8s %-8s %12s %12s %10s  %s\n' writer reader "writer ready" "reader wall" "pair wall" result
pairs=()
for w in "${runtimes[@]}"; do
  for r in "${runtimes[@]}"; do pairs+=("$w:$r"); done
done
i=0
for pair in "${pairs[@]}"; do
  w=${pair%%:*}
  r=${pair#*:}
  i=$((i + 1))
  tag=pair$i-$w-$r-$$
  wlog=$logs/pair$i-$w-write.log
  rlog=$logs/pair$i-$r-read.log
  glog=$logs/pair$i-$r-gone.log
  t0=$(now_ms)
  cmd_for "$w"
  "${cmd[@]}" write "$tag" "$work" >"$wlog" 2>&1 &
  wpid=$!
  ready=0
  for _ in $(seq 1 1200); do # up to 60 s
    [ -f "$work/$tag.ready" ] && { ready=1; break; }
    kill -0 "$wpid" 2>/dev/null || break
    sleep 0.05
  done
  t1=$(now_ms)
  rrc=99
  if [ $ready -eq 1 ]; then
    cmd_for "$r"
    "${cmd[@]}" read "$tag" "$work" >"$rlog" 2>&1
    rrc=$?
  else
    : >"$rlog"
  fi
  t2=$(now_ms)
  [ $rrc -eq 0 ] || kill "$wpid" 2>/dev/null
  wait "$wpid"
  wrc=$?
  t3=$(now_ms)
  cmd_for "$r"
  "${cmd[@]}" gone "$tag" >"$glog" 2>&1
  grc=$?
  if [ $wrc -eq 0 ] && [ $rrc -eq 0 ] && [ $grc -eq 0 ]; then
    result=ok
  else
    result="FAIL writer exit $wrc, reader exit $rrc, gone-check exit $grc"
    failed=1
  fi
  printf '%-8s %-8s %9d ms %9d ms %7d ms  %s\n' "$w" "$r" $((t1 - t0)) $((t2 - t1)) $((t3 - t0)) "$result"
  if [ "$result" != ok ]; then
    show_failure "$wlog"
    show_failure "$rlog"
    show_failure "$glog"
  fi
done

printf '\n== crash on touching an unmapped view must end the process at once\n'
printf '%-8s %-8s %s\n' runtime wall result
for r in "${runtimes[@]}"; do
  log=$logs/crash-$r.log
  t=$(now_ms)
  cmd_for "$r"
  "${cmd[@]}" crash >"$log" 2>&1
  rc=$?
  dt=$(($(now_ms) - t))
  if [ $rc -ne 0 ] && grep -q 'should crash' "$log" && [ $dt -lt 20000 ]; then
    printf '%-8s %5d ms ok (exit %d)\n' "$r" "$dt" "$rc"
  else
    failed=1
    printf '%-8s %5d ms FAIL (exit %d)\n' "$r" "$dt" "$rc"
    show_failure "$log"
  fi
done

echo
if [ $failed -eq 0 ]; then
  echo "wine smoke: all passed (logs: $logs)"
else
  echo "wine smoke: FAILED (logs: $logs)"
fi
exit $failed
