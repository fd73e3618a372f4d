#!/bin/sh
# Sourced by the installer scripts. say MESSAGE prints "vultr-sid-iso: MESSAGE" on every
# console (the screen and the serial line: people watching Vultr's console, and the tests,
# read it there) and in the installer's log.
say() {
  for console in /dev/ttyS0 /dev/tty0; do
    if [ -c "$console" ]; then
      echo "vultr-sid-iso: $1" > "$console" 2>/dev/null || true
    fi
  done
  logger -t vultr-sid-iso "$1" 2>/dev/null || true
}
