#!/usr/bin/env bash
# Print a command that runs Python >= 3.12: python3.13/python3.12 on PATH (if they work), then pyenv's versions.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for c in python3.13 python3.12 python3; do
  if command -v "$c" >/dev/null 2>&1 && ok "$c"; then command -v "$c"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for d in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -rV); do
  for c in "$d"/bin/python3.1[2-9]; do
    if [ -x "$c" ] && ok "$c"; then echo "$c"; exit 0; fi
  done
done
exit 1
