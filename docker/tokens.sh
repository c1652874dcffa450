#!/bin/sh
# Writes a fresh PROJECT_SERVICE_TOKEN and AGGREGATOR_SERVICE_TOKEN into .env (or the file given),
# where `docker compose` reads them for every command (up, ps, logs, down) in any shell. A token
# already in the file is kept, and nothing else in it changes. POSIX sh, /dev/urandom: no openssl.
#
#   sh docker/tokens.sh [file]
set -eu
file=${1:-.env}
# a last line without its newline would swallow the first line appended
if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >> "$file"; fi
for name in PROJECT_SERVICE_TOKEN AGGREGATOR_SERVICE_TOKEN; do
  if grep -qs "^$name=." "$file"; then
    echo "$file: $name kept"
  else
    printf '%s=%s\n' "$name" "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >> "$file"
    echo "$file: $name written"
  fi
done
