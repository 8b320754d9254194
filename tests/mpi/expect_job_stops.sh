#!/usr/bin/env bash
# Runs the two-rank job of failing_rank.cpp, in which rank 1 fails, and
# checks that the whole job stops with an error instead of leaving rank 0
# waiting in a collective (a time limit catches a hang), that the output
# says what happened, and that the last checkpoint rank 0 wrote is intact.
#   expect_job_stops.sh MODE EXPECTED_TEXT PROGRAM MPIEXEC [MPIEXEC ARGS...]
set -uo pipefail
mode=$1 expected=$2 program=$3
shift 3
limit=120
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

start=$SECONDS
timeout "$limit" "$@" "$program" "$mode" "$dir" >"$dir/output.txt" 2>&1
rc=$?
cat "$dir/output.txt"
echo "expect_job_stops: '$mode' job exited with status $rc after $((SECONDS - start)) s"
if ((rc == 124)); then
  echo "FAIL: still running after $limit s: a rank was left waiting"
  exit 1
fi
if ((rc == 0)); then
  echo "FAIL: the job reported success although rank 1 failed"
  exit 1
fi
if ! grep -qF -- "$expected" "$dir/output.txt"; then
  echo "FAIL: the output does not say '$expected'"
  exit 1
fi
if ! "$program" verify "$dir"; then
  echo "FAIL: the last checkpoint did not survive"
  exit 1
fi
echo "PASS: the job stopped with status $rc and the last checkpoint is intact"
