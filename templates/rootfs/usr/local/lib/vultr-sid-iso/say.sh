#!/bin/sh
# Sourced by our programs on the installed system. say MESSAGE prints "vultr-sid-iso: MESSAGE"
# on standard error (the journal, or the terminal of whoever ran the program) and on every
# console the kernel has (/proc/consoles): the screen, which is the main console and what
# Vultr's web console shows, and the serial line, which the tests and a serial console read.
# A unit that uses this logs to the journal only (StandardError=journal): /dev/console is the
# main console alone, so journal+console would reach the screen twice and the serial line never.
say() {
  echo "vultr-sid-iso: $1" >&2
  consoles=$(sed -n 's/^\([^ ]*\) .*/\1/p' /proc/consoles 2>/dev/null)
  for console in ${consoles:-ttyS0 tty0}; do
    if [ -c "/dev/$console" ]; then
      echo "vultr-sid-iso: $1" > "/dev/$console" 2>/dev/null || true
    fi
  done
}
