#!/usr/bin/env bash
# The compiler launcher of the header checks (tests/header_check.cmake):
#   syntax_check.sh CHECKER PROJECT_COMPILER ARGS... -o OBJECT -c SOURCE
# runs CHECKER -fsyntax-only with the project's flags for SOURCE, in place of
# the project's compiler, and leaves an empty OBJECT as the build's stamp.
# Code generation is the test programs' job; here it would only cost time.
set -euo pipefail
checker=$1
shift 2
args=() object=""
while (($#)); do
  case $1 in
    -o) object=$2; shift 2 ;;
    -c) shift ;;
    *) args+=("$1"); shift ;;
  esac
done
# The flags are the project compiler's; another compiler ignores what it lacks.
"$checker" -fsyntax-only -Wno-unknown-warning-option "${args[@]}"
: > "$object"
